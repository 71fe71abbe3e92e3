"""The argocd function end to end: HTTP through the local API Gateway (authorizer and access
gate included), real PostgreSQL, the Argo CD emulator over HTTP, and the deploy poller
running in a background thread the way `make dev` runs it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from idp.db import Database

ALICE = "alice@example.com"  # owner, creates the tenant
BOB = "bob@example.com"  # owner
DAVE = "dave@example.com"  # developer
VIC = "vic@example.com"  # viewer
OTTO = "otto@example.com"  # not a member
REPO = "https://github.com/acme/web"
FINAL = ("succeeded", "failed", "rejected", "expired")


def _deploy(api: Any, env: str, revision: str, *, user: str = DAVE, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else None
    body = {"environment": env, "revision": revision}
    return api.call("POST", "/tenants/shop/apps/web/deployments", user=user, json=body, headers=headers)


def _wait(api: Any, deployment_id: str, *states: str, timeout: float = 10.0) -> dict[str, Any]:
    """The deployment once it reaches one of `states` (the poller moves it), or as it is at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.call("GET", f"/deployments/{deployment_id}", user=VIC)
        assert response.status_code == 200, response.text
        deployment: dict[str, Any] = response.json()
        if deployment["state"] in (states or FINAL) or time.monotonic() > deadline:
            return deployment
        time.sleep(0.05)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_app_is_registered_in_argo_cd_per_environment(team: Any, argocd: Any) -> None:
    for env in ("dev", "prod"):
        app = argocd.app(f"shop-web-{env}")
        assert app is not None
        assert app["spec"]["project"] == "shop"
        assert app["spec"]["destination"]["namespace"] == f"shop-{env}"
        assert app["spec"]["source"]["repoURL"] == REPO
        assert "automated" not in (app["spec"].get("syncPolicy") or {})

    found = team.call("GET", "/apps?name=web", user=VIC)
    assert found.status_code == 200, found.text
    assert [(a["tenant"], a["name"]) for a in found.json()] == [("shop", "web")]
    assert team.call("GET", "/apps?name=web", user=OTTO).json() == []

    one = team.call("GET", "/tenants/shop/apps/web", user=VIC)
    assert one.status_code == 200, one.text
    assert {live["environment"]: live["argocd_app"] for live in one.json()["live"]} == {
        "dev": "shop-web-dev",
        "prod": "shop-web-prod",
    }
    # The same request again is a retry; another repository is refused with the allowed ones.
    again = team.call("POST", "/tenants/shop/apps", user=DAVE, json={"name": "web", "repo_url": REPO})
    assert again.status_code == 200, again.text
    other = {"name": "api", "repo_url": "https://github.com/evil/api"}
    error = _error(team.call("POST", "/tenants/shop/apps", user=DAVE, json=other), 422)
    assert error["code"] == "repo_not_allowed"
    assert REPO in error["message"]


def test_deploy_to_dev_needs_no_approval(team: Any, argocd: Any, deploy_poller: Any) -> None:
    response = _deploy(team, "dev", "v1.0.0")
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["approval_required"] is False
    assert started["requested_by"] == DAVE and started["kind"] == "deploy"

    done = _wait(team, started["id"])
    assert done["state"] == "succeeded", done
    assert done["deployed_revision"] == "v1.0.0"
    assert done["sync_started_at"] and done["finished_at"] and done["duration_seconds"] is not None
    live = argocd.app("shop-web-dev")
    assert live["status"]["sync"]["revision"] == "v1.0.0"
    assert live["status"]["health"]["status"] == "Healthy"

    history = team.call("GET", "/tenants/shop/apps/web/deployments?environment=dev", user=VIC)
    assert history.status_code == 200, history.text
    assert [d["id"] for d in history.json()] == [started["id"]]
    assert team.call("GET", "/tenants/shop/apps/web/deployments?environment=prod", user=VIC).json() == []


def test_prod_deploy_waits_for_another_owner(team: Any, argocd: Any, deploy_poller: Any) -> None:
    response = _deploy(team, "prod", "v2.0.0", user=ALICE)
    assert response.status_code == 202, response.text
    pending = response.json()
    assert pending["state"] == "pending_approval" and pending["approval_required"] is True
    assert pending["approval_expires_at"] is not None

    assert _error(team.call("POST", f"/deployments/{pending['id']}/approve", user=ALICE), 403)["code"] == (
        "self_approval"
    )
    assert _error(_deploy(team, "prod", "v2.0.0", user=VIC), 403)["code"] == "forbidden"  # a viewer cannot deploy
    assert team.call("POST", f"/deployments/{pending['id']}/approve", user=DAVE).status_code == 403
    assert _wait(team, pending["id"], timeout=0.3)["state"] == "pending_approval"  # the poller leaves it waiting
    assert argocd.app("shop-web-prod")["status"]["history"] == []

    approved = team.call("POST", f"/deployments/{pending['id']}/approve", user=BOB, json={"comment": "go"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_by"] == BOB and approved.json()["decision_comment"] == "go"
    assert approved.json()["state"] in ("approved", "syncing", "succeeded")

    done = _wait(team, pending["id"])
    assert done["state"] == "succeeded", done
    assert argocd.app("shop-web-prod")["status"]["sync"]["revision"] == "v2.0.0"

    # A second click (or another approver) deploys nothing more.
    twice = _error(team.call("POST", f"/deployments/{pending['id']}/approve", user=BOB), 409)
    assert twice["code"] == "already_decided"
    assert BOB in twice["message"]
    time.sleep(0.2)  # a few poller passes
    assert len(argocd.app("shop-web-prod")["status"]["history"]) == 1


def test_rejected_deploy_never_syncs(team: Any, argocd: Any, deploy_poller: Any) -> None:
    pending = _deploy(team, "prod", "v3.0.0").json()
    rejected = team.call("POST", f"/deployments/{pending['id']}/reject", user=BOB)  # no body: no comment
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected" and rejected.json()["decided_by"] == BOB
    assert _error(team.call("POST", f"/deployments/{pending['id']}/approve", user=ALICE), 409)["code"] == (
        "already_decided"
    )
    time.sleep(0.2)
    assert argocd.app("shop-web-prod")["status"]["history"] == []


def test_expired_approval_cannot_be_approved(team: Any, db: Database) -> None:
    policy = {"approval_environments": ["prod"], "approval_ttl_seconds": 60}
    updated = team.call("PUT", "/tenants/shop/deploy-policy", user=ALICE, json=policy)
    assert updated.status_code == 200, updated.text
    assert updated.json()["approval_ttl_seconds"] == 60
    assert set(updated.json()["approvers"]) == {ALICE, BOB}

    pending = _deploy(team, "prod", "v4.0.0").json()
    assert pending["state"] == "pending_approval"
    # An hour later, as far as the deployment knows.
    db.run(
        "UPDATE deployments SET approval_expires_at = now() - interval '1 second' WHERE id = CAST(:id AS uuid)",
        id=pending["id"],
    )
    assert _error(team.call("POST", f"/deployments/{pending['id']}/approve", user=BOB), 409)["code"] == (
        "approval_expired"
    )
    assert team.call("GET", f"/deployments/{pending['id']}", user=VIC).json()["state"] == "expired"


def test_failed_sync_is_recorded_with_argo_cds_message(team: Any, argocd: Any, deploy_poller: Any) -> None:
    argocd.fail_next_sync("shop-web-dev", message="ImagePullBackOff: ghcr.io/acme/web:v9 not found")
    started = _deploy(team, "dev", "v9.0.0").json()
    done = _wait(team, started["id"])
    assert done["state"] == "failed", done
    assert "ImagePullBackOff" in (done["message"] or "")
    assert done["finished_at"] is not None


def test_rollback_returns_the_previous_revision(team: Any, argocd: Any, deploy_poller: Any) -> None:
    for revision in ("v1.0.0", "v2.0.0"):
        deployed = _wait(team, _deploy(team, "dev", revision).json()["id"])
        assert deployed["state"] == "succeeded", deployed

    response = team.call("POST", "/tenants/shop/apps/web/rollback", user=DAVE, json={"environment": "dev"})
    assert response.status_code == 202, response.text
    rollback = response.json()
    assert rollback["kind"] == "rollback" and rollback["revision"] == "v1.0.0"
    assert rollback["previous_revision"] == "v2.0.0"
    done = _wait(team, rollback["id"])
    assert done["state"] == "succeeded", done
    assert argocd.app("shop-web-dev")["status"]["sync"]["revision"] == "v1.0.0"

    nothing = team.call("POST", "/tenants/shop/apps/web/rollback", user=DAVE, json={"environment": "prod"})
    assert _error(nothing, 409)["code"] == "nothing_to_roll_back_to"


def test_idempotency_key_replays_the_first_deployment(team: Any, argocd: Any) -> None:
    first = _deploy(team, "prod", "v5.0.0", key="slack-123.456")
    assert first.status_code == 202, first.text
    again = _deploy(team, "prod", "v5.0.0", key="slack-123.456")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    history = team.call("GET", "/tenants/shop/apps/web/deployments", user=VIC).json()
    assert [d["id"] for d in history] == [first.json()["id"]]

    reused = _error(_deploy(team, "prod", "v6.0.0", key="slack-123.456"), 422)
    assert reused["code"] == "idempotency_key_reused"
    # The key is the caller's own: another person's same key is a new deployment.
    assert _deploy(team, "prod", "v5.0.0", user=BOB, key="slack-123.456").status_code == 202

    for bad in ("k" * 201, "clé", ""):
        error = _error(_deploy(team, "prod", "v5.0.0", key=bad), 422)
        assert [d["field"] for d in error["details"]] == ["Idempotency-Key"], error


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/tenants/shop/apps/web/deployments", {"environment": "dev", "revision": "no spaces"}, "revision"),
        ("POST", "/tenants/shop/apps/web/deployments", {"revision": "v1"}, "environment"),
        ("POST", "/tenants/shop/apps/web/deployments", {"environment": "dev", "color": "red"}, "color"),
        ("POST", "/tenants/shop/apps/web/rollback", {"environment": "dev", "slack_channel": "#x"}, "slack_channel"),
        ("POST", "/tenants/shop/apps", {"name": "Not_A_Label", "repo_url": REPO}, "name"),
        ("POST", "/tenants/shop/apps", {"name": "api", "repo_url": "ftp://example.com/x"}, "repo_url"),
        (
            "PUT",
            "/tenants/shop/deploy-policy",
            {"approval_environments": [], "approval_ttl_seconds": 5},
            "approval_ttl_seconds",
        ),
        ("GET", "/tenants/shop/apps/web/deployments?limit=0", None, "limit"),
        ("GET", "/tenants/shop/apps/web/deployments?limit=101", None, "limit"),
        ("POST", "/deployments/{id}/reject", {"comment": "x" * 501}, "comment"),
    ],
)
def test_bad_requests_name_the_field(team: Any, method: str, path: str, body: Any, field: str) -> None:
    if "{id}" in path:
        path = path.replace("{id}", _deploy(team, "prod", "v1.0.0").json()["id"])
    error = _error(team.call(method, path, user=ALICE, json=body), 422)
    assert field in [d["field"] for d in error["details"]], error


def test_unknown_environment_or_policy_environment_is_refused(team: Any) -> None:
    assert _deploy(team, "qa", "v1").status_code == 422
    policy = {"approval_environments": ["qa"], "approval_ttl_seconds": 600}
    assert team.call("PUT", "/tenants/shop/deploy-policy", user=ALICE, json=policy).status_code == 422
    assert (
        team.call(
            "PUT", "/tenants/shop/deploy-policy", user=BOB, json=policy | {"approval_environments": []}
        ).status_code
        == 200
    )
    assert team.call("GET", "/tenants/shop/deploy-policy", user=VIC).json()["approval_environments"] == []


def test_unknown_deployment_and_outsiders_get_the_same_404(team: Any) -> None:
    real = _deploy(team, "prod", "v1.0.0").json()["id"]
    unknown = str(uuid.uuid4())
    for deployment in (unknown, "not-a-uuid", real):
        for method, suffix in (("GET", ""), ("POST", "/approve"), ("POST", "/reject")):
            user = OTTO if deployment == real else ALICE
            error = _error(team.call(method, f"/deployments/{deployment}{suffix}", user=user), 404)
            assert error["code"] == "deployment_not_found", error
            assert error["message"] == f"deployment '{deployment}' not found"
    # Still pending: nothing an outsider did reached it.
    assert team.call("GET", f"/deployments/{real}", user=VIC).json()["state"] == "pending_approval"
    outsider = _error(_deploy(team, "dev", "v1.0.0", user=OTTO), 404)
    assert outsider["code"] == "tenant_not_found"
