"""Deployments end to end below HTTP: real PostgreSQL, the Argo CD emulator, the poller's own function."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from idp.db import Database
from idp.deploy import approvals, flows
from idp.errors import Conflict, Forbidden, IdpError, InvalidInput, NotFound
from idp.schemas.deploy import DeploymentCreate
from idp.tenants.access import Action

if TYPE_CHECKING:
    from tests.idp.deploy.conftest import Kit

CHANNEL = "C0DEPLOYS"


def test_a_dev_deploy_needs_no_approval_starts_at_once_and_the_poller_records_success(kit: Kit) -> None:
    deployment = kit.deploy(revision="v1.2.0")

    assert deployment.state == "syncing" and not deployment.approval_required
    assert deployment.requested_by == kit.DEVELOPER and deployment.sync_started_at is not None
    live = kit.argocd.app("shop-web-dev")
    assert live is not None and live["spec"]["source"]["targetRevision"] == "v1.2.0"
    assert live["status"]["operationState"]["operation"]["sync"]["revision"] == "v1.2.0"

    summary = kit.poll()
    assert summary.succeeded == 1 and summary.failed == 0
    done = kit.get(deployment.id)
    assert done.state == "succeeded" and done.deployed_revision == "v1.2.0"
    assert done.finished_at is not None and done.duration_seconds is not None and done.duration_seconds >= 0
    assert kit.history("shop-web-dev") == ["v1.2.0"]
    (row,) = kit.db.rows("SELECT argocd_history_id, attempts FROM deployments")
    assert row == {"argocd_history_id": 0, "attempts": 1}
    assert kit.audit(deployment.id) == [
        ("deployment.request", kit.DEVELOPER, "ok"),
        ("deployment.start", "platform", "ok"),
        ("deployment.succeeded", "platform", "ok"),
    ]
    assert kit.db.rows("SELECT DISTINCT actor_kind FROM audit_log WHERE actor = 'platform'") == [
        {"actor_kind": "system"}
    ]
    # Nothing more to do: the next pass changes nothing.
    assert kit.poll().model_dump(exclude={"passes"}) == dict.fromkeys(kit.poll().model_dump(exclude={"passes"}), 0)


def test_the_next_deploy_records_the_previous_revision(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    second = kit.deploy(revision="v2")
    assert second.previous_revision == "v1"


def test_prod_needs_an_approval_by_default(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod", "v1")

    assert deployment.state == "pending_approval" and deployment.approval_required
    assert deployment.approval_expires_at is not None
    ttl = deployment.approval_expires_at - deployment.requested_at
    assert timedelta(seconds=3590) < ttl <= timedelta(seconds=3600)
    live = kit.argocd.app("shop-web-prod")
    assert live is not None and "operationState" not in live["status"]  # nothing started
    assert kit.poll().started == 0

    approved = kit.approve(deployment.id, kit.ADMIN)
    assert approved.state == "syncing" and approved.decided_by == kit.ADMIN and approved.decided_at is not None
    kit.poll()
    assert kit.get(deployment.id).state == "succeeded"
    assert kit.history("shop-web-prod") == ["v1"]
    assert [a for a, _, _ in kit.audit(deployment.id)] == [
        "deployment.request",
        "deployment.approve",
        "deployment.start",
        "deployment.succeeded",
    ]


def test_the_requester_never_approves_their_own_deploy(kit: Kit) -> None:
    deployment = kit.deploy(kit.OWNER, "prod", "v1")
    with pytest.raises(Forbidden) as caught:
        kit.approve(deployment.id, kit.OWNER)
    assert caught.value.status == 403 and caught.value.code == "self_approval"
    assert kit.get(deployment.id).state == "pending_approval"
    assert ("deployment.approve", kit.OWNER, "denied") in kit.audit(deployment.id)
    assert kit.operations_started("shop-web-prod") == 0
    # Another owner may.
    assert kit.approve(deployment.id, kit.OTHER_OWNER).state == "syncing"


def test_a_viewer_cannot_deploy_and_an_outsider_does_not_see_the_tenant(kit: Kit) -> None:
    with pytest.raises(Forbidden) as caught:
        kit.deploy(kit.VIEWER)
    assert caught.value.status == 403
    with pytest.raises(NotFound):
        kit.deploy(kit.OUTSIDER)
    assert kit.db.rows("SELECT * FROM deployments") == []


def test_a_developer_cannot_approve(kit: Kit) -> None:
    deployment = kit.deploy(kit.OWNER, "prod")
    with pytest.raises(Forbidden) as caught:
        kit.approve(deployment.id, kit.DEVELOPER)
    assert caught.value.status == 403
    with pytest.raises(Forbidden):
        kit.reject(deployment.id, kit.DEVELOPER)
    assert kit.get(deployment.id).state == "pending_approval"


def test_an_expired_approval_cannot_be_approved_and_is_recorded_expired(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod", slack_channel=CHANNEL)
    kit.db.run("UPDATE deployments SET approval_expires_at = now() - interval '1 second'")

    with pytest.raises(Conflict) as caught:
        kit.approve(deployment.id, kit.ADMIN)
    assert caught.value.status == 409 and caught.value.code == "approval_expired"
    assert "expired at" in caught.value.message
    expired = kit.get(deployment.id)
    assert expired.state == "expired" and expired.finished_at is not None and expired.decided_by is None
    assert kit.outbox(deployment.id) == ["requested", "expired"]
    assert ("deployment.expire", "platform", "ok") in kit.audit(deployment.id)
    assert kit.operations_started("shop-web-prod") == 0
    # Asking again says the same.
    with pytest.raises(Conflict) as again:
        kit.approve(deployment.id, kit.OTHER_OWNER)
    assert again.value.code == "approval_expired"


def test_the_poller_expires_overdue_approvals(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod")
    assert kit.poll().expired == 0
    summary = kit.poll(now=deployment.requested_at + timedelta(hours=2))
    assert summary.expired == 1 and kit.get(deployment.id).state == "expired"


def test_approving_twice_starts_one_sync(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod", "v9")
    kit.approve(deployment.id, kit.ADMIN)

    with pytest.raises(Conflict) as caught:
        kit.approve(deployment.id, kit.OTHER_OWNER)
    assert caught.value.status == 409 and caught.value.code == "already_decided"
    assert kit.ADMIN in caught.value.message and "UTC" in caught.value.message
    with pytest.raises(Conflict):
        kit.approve(deployment.id, kit.ADMIN)  # the same click again (a Slack retry)
    kit.poll()
    kit.poll()
    assert kit.operations_started("shop-web-prod") == 1
    assert kit.history("shop-web-prod") == ["v9"]
    assert kit.get(deployment.id).decided_by == kit.ADMIN


def test_two_approvers_at_the_same_moment_sync_once(kit: Kit, database_url: str, database_schema: str) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod", "v3")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}
    access = {user: kit.deployment_access(user, deployment.id, "/approve") for user in (kit.ADMIN, kit.OTHER_OWNER)}

    def click(user: str) -> None:
        db = Database(database_url, schema=database_schema)
        try:
            barrier.wait()
            outcomes[user] = approvals.approve(db, kit.argo, None, access[user], deployment.id, None, config=kit.CONFIG)
        except IdpError as exc:
            outcomes[user] = exc
        finally:
            db.close()

    threads = [threading.Thread(target=click, args=(user,)) for user in (kit.ADMIN, kit.OTHER_OWNER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    refused = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert len(outcomes) == 2 and len(refused) == 1 and refused[0].code == "already_decided"
    kit.poll()
    assert kit.operations_started("shop-web-prod") == 1
    assert kit.get(deployment.id).state == "succeeded"
    assert [a for a, _, _ in kit.audit(deployment.id)].count("deployment.approve") == 1


def test_reject_records_who_and_why_and_never_syncs(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod", slack_channel=CHANNEL)
    rejected = kit.reject(deployment.id, kit.OTHER_OWNER, comment="not during the sale")
    assert rejected.state == "rejected" and rejected.decided_by == kit.OTHER_OWNER
    assert rejected.decision_comment == "not during the sale" and rejected.finished_at is not None
    with pytest.raises(Conflict) as caught:
        kit.approve(deployment.id, kit.ADMIN)
    assert caught.value.code == "already_decided" and "rejected by oscar@example.com" in caught.value.message
    kit.poll()
    assert kit.operations_started("shop-web-prod") == 0
    assert kit.outbox(deployment.id) == ["requested", "rejected"]
    assert ("deployment.reject", kit.OTHER_OWNER, "ok") in kit.audit(deployment.id)


def test_a_failed_sync_is_recorded_failed_with_argocds_message(kit: Kit) -> None:
    kit.argocd.fail_next_sync("shop-web-dev", "ImagePullBackOff: image shop/web:v2 not found")
    deployment = kit.deploy(revision="v2", slack_channel=CHANNEL)
    kit.poll()
    failed = kit.get(deployment.id)
    assert failed.state == "failed" and failed.finished_at is not None
    assert failed.message is not None and "ImagePullBackOff: image shop/web:v2 not found" in failed.message
    assert failed.deployed_revision is None
    assert kit.outbox(deployment.id) == ["requested", "started", "failed"]
    assert ("deployment.failed", "platform", "ok") in kit.audit(deployment.id)


def test_a_degraded_rollout_is_recorded_failed_with_the_health_message(kit: Kit) -> None:
    kit.argocd.degrade("shop-web-dev", "Deployment web exceeded its progress deadline")
    deployment = kit.deploy(revision="v2")
    kit.poll()
    failed = kit.get(deployment.id)
    assert failed.state == "failed"
    assert failed.message is not None and "Deployment web exceeded its progress deadline" in failed.message


def test_a_sync_still_running_waits_then_times_out(kit: Kit) -> None:
    kit.argocd.sync_polls = 100
    deployment = kit.deploy(revision="v5")
    assert kit.poll().waiting == 1 and kit.get(deployment.id).state == "syncing"

    assert deployment.sync_started_at is not None
    summary = kit.poll(now=deployment.sync_started_at + timedelta(seconds=kit.CONFIG.timeout_seconds + 1))
    assert summary.failed == 1
    failed = kit.get(deployment.id)
    assert failed.state == "failed" and failed.message is not None
    assert "not healthy within 900 seconds" in failed.message and "Running" in failed.message
    live = kit.argocd.app("shop-web-dev")
    assert live is not None and live["status"]["operationState"]["phase"] in ("Terminating", "Failed")


def test_argocd_down_at_sync_start_leaves_it_approved_and_the_poller_starts_it(kit: Kit) -> None:
    kit.argocd.fail_next(method="POST", path="/api/v1/applications", status=503, message="argocd-server restarting")
    deployment = kit.deploy(revision="v4")

    assert deployment.state == "approved" and deployment.sync_started_at is None
    assert deployment.message is not None and "argocd-server restarting" in deployment.message
    assert "retries" in deployment.message
    summary = kit.poll()
    assert summary.started == 1 and summary.succeeded == 1
    done = kit.get(deployment.id)
    assert done.state == "succeeded" and done.message == "synced to v4; healthy"
    assert kit.db.run("SELECT attempts FROM deployments") == [[2]]


def test_approving_while_argocd_is_down_answers_approved_with_the_reason(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod", "v4")
    kit.argocd.fail_next(method="POST", status=503, message="connection refused")
    approved = kit.approve(deployment.id, kit.ADMIN)
    assert approved.state == "approved" and approved.decided_by == kit.ADMIN
    assert approved.message is not None and "connection refused" in approved.message
    kit.poll()
    assert kit.get(deployment.id).state == "succeeded"


def test_one_sync_at_a_time_per_app_and_environment(kit: Kit) -> None:
    kit.argocd.sync_polls = 2
    first = kit.deploy(revision="v1")
    second = kit.deploy(revision="v2")
    assert first.state == "syncing"
    assert second.state == "approved" and second.message is not None and first.id in second.message
    other_env = kit.deploy(kit.OWNER, "prod", "v1")
    assert other_env.state == "pending_approval"

    kit.poll()  # the first finishes at its second read
    kit.poll()  # now the second starts...
    kit.poll()
    kit.poll()  # ...and finishes
    assert kit.get(first.id).state == "succeeded" and kit.get(second.id).state == "succeeded"
    assert kit.history("shop-web-dev") == ["v1", "v2"]


def test_an_environment_the_app_does_not_have_is_refused(kit: Kit) -> None:
    kit.create_app(name="tool", environments=["dev"])
    with pytest.raises(InvalidInput) as caught:
        kit.deploy(environment="prod", app="tool")
    assert caught.value.status == 422 and "prod" in caught.value.message


def test_an_unknown_app_is_404(kit: Kit) -> None:
    with pytest.raises(NotFound) as caught:
        kit.deploy(app="nope")
    assert caught.value.code == "app_not_found"


def test_the_same_idempotency_key_returns_the_first_deployment(kit: Kit) -> None:
    first = kit.deploy(revision="v1", key="slack-123")
    again, created = flows.request_deployment(
        kit.db,
        kit.argo,
        None,
        kit.access(kit.DEVELOPER, Action.DEPLOY),
        "web",
        DeploymentCreate(environment="dev", revision="v1"),
        idempotency_key="slack-123",
        config=kit.CONFIG,
    )
    assert not created and again.id == first.id
    assert kit.db.run("SELECT count(*) FROM deployments") == [[1]]
    assert kit.operations_started("shop-web-dev") == 1

    with pytest.raises(InvalidInput) as caught:
        kit.deploy(revision="v2", key="slack-123")
    assert caught.value.status == 422 and caught.value.code == "idempotency_key_reused"
    # The key belongs to its caller: someone else's request with it is a new deployment.
    other = kit.deploy(kit.OWNER, "prod", "v1", key="slack-123")
    assert other.id != first.id


def test_notifications_are_queued_only_with_a_slack_channel(kit: Kit) -> None:
    quiet = kit.deploy(revision="v1")
    assert kit.outbox(quiet.id) == []
    kit.poll()

    loud = kit.deploy(revision="v2", slack_channel=CHANNEL)
    assert loud.slack_channel == CHANNEL
    kit.poll()
    assert kit.outbox(loud.id) == ["requested", "started", "succeeded"]
    # The notifier was asked to deliver after each change and at the end of each poll.
    assert loud.id in kit.notifier.calls and None in kit.notifier.calls


def test_approvals_go_to_the_policys_channel(kit: Kit) -> None:
    from idp.schemas.deploy import DeployPolicyUpdate

    approvals.set_policy(
        kit.db,
        kit.access(kit.OWNER, Action.DEPLOY_POLICY_MANAGE),
        DeployPolicyUpdate(approval_environments=["prod"], approval_channel="C0APPROVE"),
        config=kit.CONFIG,
    )
    deployment = kit.deploy(kit.DEVELOPER, "prod", slack_channel=CHANNEL)
    assert deployment.slack_channel == "C0APPROVE"
    kit.approve(deployment.id)
    kit.poll()
    assert kit.outbox(deployment.id) == ["requested", "approved", "started", "succeeded"]


def test_deployments_are_hidden_from_outsiders_and_unknown_ids_are_404(kit: Kit) -> None:
    deployment = kit.deploy()
    for user, deployment_id in ((kit.OUTSIDER, deployment.id), (kit.VIEWER, "not-a-uuid")):
        with pytest.raises(NotFound) as caught:
            kit.get(deployment_id, user)
        assert caught.value.code == "deployment_not_found"
    with pytest.raises(NotFound) as approving:
        kit.approve(deployment.id, kit.OUTSIDER)
    assert approving.value.code == "deployment_not_found"
    assert flows.deployment_tenant_id(kit.db, deployment.id) == kit.tenant_id
    assert flows.deployment_tenant_id(kit.db, "00000000-0000-0000-0000-000000000000") is None


def test_history_lists_newest_first_and_filters_by_environment(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")
    kit.deploy(kit.OWNER, "prod", "v2")
    listed = flows.list_deployments(kit.db, kit.access(kit.VIEWER, Action.APPS_READ), "web")
    assert [(d.environment, d.revision) for d in listed] == [("prod", "v2"), ("dev", "v2"), ("dev", "v1")]
    dev = flows.list_deployments(kit.db, kit.access(kit.VIEWER, Action.APPS_READ), "web", environment="dev", limit=1)
    assert [d.revision for d in dev] == ["v2"]


def test_deployments_of_a_deleted_app_fail(kit: Kit) -> None:
    from idp.deploy import apps

    kit.argocd.sync_polls = 100
    running = kit.deploy(revision="v1")
    waiting = kit.deploy(kit.DEVELOPER, "prod", "v1")
    apps.delete_app(kit.db, kit.argo, kit.access(kit.OWNER, Action.APPS_DELETE), "web")
    assert kit.poll().failed == 2
    for deployment in (running, waiting):
        failed = kit.get(deployment.id)
        assert failed.state == "failed" and failed.message is not None and "deleted" in failed.message


def test_service_accounts_never_decide(kit: Kit) -> None:
    deployment = kit.deploy(kit.DEVELOPER, "prod")
    robot = kit.access(
        "sa:shop:ci", Action.DEPLOY_APPROVE, kind="service_account", tenant_id=kit.tenant_id, role="admin"
    )
    with pytest.raises(Forbidden):  # the gate keeps them out; the flow refuses them too
        approvals.approve(kit.db, kit.argo, None, robot, deployment.id, None, config=kit.CONFIG)
    assert kit.get(deployment.id).state == "pending_approval"


def test_pollers_running_at_once_start_each_sync_once(kit: Kit, database_url: str, database_schema: str) -> None:
    from idp.deploy.tracking import poll_once

    kit.create_app(name="api")
    waiting = []
    for app in ("web", "api"):
        kit.argocd.fail_next(method="POST", status=503)
        waiting.append(kit.deploy(app=app, revision="v1"))
    assert [d.state for d in waiting] == ["approved", "approved"]

    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def poller() -> None:
        db = Database(database_url, schema=database_schema)
        try:
            barrier.wait()
            poll_once(db, kit.argo, None, config=kit.CONFIG)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=poller) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    kit.poll()

    assert errors == []
    assert kit.operations_started("shop-web-dev") == 1 and kit.operations_started("shop-api-dev") == 1
    assert [kit.get(d.id).state for d in waiting] == ["succeeded", "succeeded"]
    assert kit.db.run("SELECT count(*) FROM audit_log WHERE action = 'deployment.start'") == [[2]]
