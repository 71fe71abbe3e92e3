"""The approval policy: defaults, per-tenant rows, who approves."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from idp.config import Settings
from idp.deploy import approvals
from idp.deploy.policy import DeployConfig, effective_policy, needs_approval
from idp.errors import Forbidden, InvalidInput
from idp.schemas.deploy import DeployPolicyUpdate
from idp.schemas.tenants import MemberRead
from idp.tenants.access import Action

if TYPE_CHECKING:
    from tests.idp.deploy.conftest import Kit


def _member(user: str, role: str) -> MemberRead:
    return MemberRead.model_validate({"user": user, "role": role, "added_by": "x", "added_at": datetime(2026, 1, 1)})


def test_defaults_apply_to_the_tenants_environments_only() -> None:
    members = [_member("o@x", "owner"), _member("a@x", "admin"), _member("d@x", "developer"), _member("v@x", "viewer")]
    policy = effective_policy("t", ["dev", "staging"], None, members, DeployConfig())
    assert policy.approval_environments == [] and policy.approval_ttl_seconds == 3600
    assert policy.approvers == ["a@x", "o@x"]
    assert not needs_approval(policy, "dev")

    strict = DeployConfig(approval_environments=("staging", "prod"), approval_ttl_seconds=600)
    policy = effective_policy("t", ["dev", "staging", "prod"], None, members, strict)
    assert policy.approval_environments == ["staging", "prod"] and policy.approval_ttl_seconds == 600
    assert needs_approval(policy, "prod") and needs_approval(policy, "staging") and not needs_approval(policy, "dev")


def test_config_from_settings() -> None:
    settings = Settings(
        deploy_approval_environments=["prod", "dr"],
        deploy_approval_ttl_seconds=120,
        deploy_timeout_seconds=60,
        argocd_destination_server="https://eks.example.com",
    )
    assert DeployConfig.from_settings(settings) == DeployConfig(("prod", "dr"), 120, 60.0, "https://eks.example.com")


def test_get_policy_shows_the_defaults_and_the_approvers(kit: Kit) -> None:
    policy = approvals.get_policy(kit.db, kit.access(kit.VIEWER, Action.APPS_READ), config=kit.CONFIG)
    assert policy.approval_environments == ["prod"] and policy.approval_channel is None
    assert policy.approvers == sorted([kit.OWNER, kit.OTHER_OWNER, kit.ADMIN])


def test_an_owner_changes_the_policy_and_deploys_follow_it(kit: Kit) -> None:
    update = DeployPolicyUpdate(approval_environments=["dev"], approval_channel="C0APPROVE", approval_ttl_seconds=300)
    policy = approvals.set_policy(kit.db, kit.access(kit.OWNER, Action.DEPLOY_POLICY_MANAGE), update, config=kit.CONFIG)
    assert policy.approval_environments == ["dev"] and policy.approval_ttl_seconds == 300
    assert approvals.get_policy(kit.db, kit.access(kit.VIEWER, Action.APPS_READ)).approval_channel == "C0APPROVE"

    assert kit.deploy(kit.DEVELOPER, "dev").state == "pending_approval"
    prod = kit.deploy(kit.DEVELOPER, "prod")
    assert prod.state == "syncing" and prod.slack_channel is None
    assert ("deploy_policy.update", kit.OWNER, "ok") in kit.audit("shop")


def test_only_owners_change_the_policy_and_only_to_the_tenants_environments(kit: Kit) -> None:
    update = DeployPolicyUpdate(approval_environments=["prod"])
    with pytest.raises(Forbidden):
        approvals.set_policy(kit.db, kit.access(kit.ADMIN, Action.DEPLOY_POLICY_MANAGE), update)
    with pytest.raises(InvalidInput) as caught:
        approvals.set_policy(
            kit.db, kit.access(kit.OWNER, Action.DEPLOY_POLICY_MANAGE), DeployPolicyUpdate(approval_environments=["qa"])
        )
    assert caught.value.status == 422 and "qa" in caught.value.message
    with pytest.raises(ValidationError):
        DeployPolicyUpdate.model_validate({"approval_environments": ["prod"], "approval_ttl_seconds": 5})
