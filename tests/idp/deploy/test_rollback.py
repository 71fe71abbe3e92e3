"""Rollbacks: back to a revision that succeeded before, through Argo CD's own history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from idp.deploy import flows
from idp.errors import Conflict, Forbidden, InvalidInput
from idp.schemas.deploy import RollbackCreate
from idp.tenants.access import Action

if TYPE_CHECKING:
    from tests.idp.deploy.conftest import Kit


def _rollback_operations(kit: Kit, argocd_app: str) -> list[str]:
    return [e["message"] for e in kit.argocd.events(argocd_app) if "initiated rollback" in e["message"]]


def test_rollback_without_a_target_returns_the_previous_revision(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")

    rollback = kit.rollback("dev")
    assert rollback.kind == "rollback" and rollback.revision == "v1" and rollback.previous_revision == "v2"
    assert rollback.state == "syncing"
    kit.poll()
    done = kit.get(rollback.id)
    assert done.state == "succeeded" and done.deployed_revision == "v1"
    live = kit.argocd.app("shop-web-dev")
    assert live is not None and live["status"]["sync"]["revision"] == "v1"
    assert kit.history("shop-web-dev") == ["v1", "v2", "v1"]
    # Argo CD's rollback (history entry of v1) was used, not a plain sync.
    assert _rollback_operations(kit, "shop-web-dev") == ["admin initiated rollback to v1"]
    assert ("deployment.rollback", kit.DEVELOPER, "ok") in kit.audit(rollback.id)


def test_rolling_back_twice_goes_further_back_only_if_asked(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")
    kit.rollback("dev")
    kit.poll()
    # The environment is on v1 now; the default target is the latest other success: v2.
    assert kit.rollback("dev").revision == "v2"


def test_after_a_failed_deploy_rollback_returns_to_the_last_good_revision(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.argocd.fail_next_sync("shop-web-dev", "CrashLoopBackOff")
    broken = kit.deploy_and_finish("v2")
    assert broken.state == "failed"

    rollback = kit.rollback("dev")
    assert rollback.revision == "v1"
    kit.poll()
    assert kit.get(rollback.id).state == "succeeded"


def test_rollback_to_a_named_revision_or_deployment(kit: Kit) -> None:
    first = kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")
    kit.deploy_and_finish("v3")

    assert kit.rollback("dev", to="v1").revision == "v1"
    kit.poll()
    assert kit.rollback("dev", to=first.id).revision == "v1"


def test_rollback_to_something_that_never_succeeded_is_refused_clearly(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")
    with pytest.raises(InvalidInput) as caught:
        kit.rollback("dev", to="v9")
    assert caught.value.status == 422 and caught.value.code == "unknown_rollback_target"
    assert "v9" in caught.value.message and "v2, v1" in caught.value.message
    with pytest.raises(InvalidInput):
        kit.rollback("prod", to="v1")  # succeeded in dev, never in prod


def test_nothing_to_roll_back_to(kit: Kit) -> None:
    with pytest.raises(Conflict) as caught:
        kit.rollback("dev")
    assert caught.value.status == 409 and caught.value.code == "nothing_to_roll_back_to"

    kit.deploy_and_finish("v1")
    with pytest.raises(Conflict) as again:
        kit.rollback("dev")
    assert again.value.code == "nothing_to_roll_back_to" and "current: v1" in again.value.message


def test_a_prod_rollback_needs_an_approval_too(kit: Kit) -> None:
    kit.deploy_and_finish("v1", "prod")
    kit.deploy_and_finish("v2", "prod")
    rollback = kit.rollback("prod")
    assert rollback.state == "pending_approval" and rollback.revision == "v1"
    with pytest.raises(Forbidden):
        kit.approve(rollback.id, kit.DEVELOPER)
    kit.approve(rollback.id, kit.OWNER)
    kit.poll()
    assert kit.get(rollback.id).state == "succeeded"
    assert kit.history("shop-web-prod") == ["v1", "v2", "v1"]


def test_a_viewer_cannot_roll_back(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")
    with pytest.raises(Forbidden):
        kit.rollback("dev", user=kit.VIEWER)


def test_rollback_idempotency_key(kit: Kit) -> None:
    kit.deploy_and_finish("v1")
    kit.deploy_and_finish("v2")

    def request(to: str | None) -> tuple[str, bool]:
        deployment, created = flows.request_rollback(
            kit.db,
            kit.argo,
            None,
            kit.access(kit.DEVELOPER, Action.DEPLOY),
            "web",
            RollbackCreate(environment="dev", to=to),
            idempotency_key="cli-rollback-1",
            config=kit.CONFIG,
        )
        return deployment.id, created

    first_id, created = request(None)
    assert created
    assert request(None) == (first_id, False)
    with pytest.raises(InvalidInput) as caught:
        request("v2")
    assert caught.value.code == "idempotency_key_reused"
