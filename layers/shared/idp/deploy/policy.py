"""The approval policy of a tenant: its deploy_policies row, or the platform defaults.

The functions here are pure: the defaults come in as a `DeployConfig` (built once from the
settings at the edge, or by `DeployConfig.from_settings`), the members and row as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from idp.deploy.service import PolicyRow
from idp.schemas.deploy import DeployPolicyRead
from idp.tenants.argocd_project import IN_CLUSTER

if TYPE_CHECKING:
    from idp.config import Settings
    from idp.schemas.tenants import MemberRead  # annotations only: the poller needs no tenant models

__all__ = ["APPROVER_ROLES", "DeployConfig", "approvers", "effective_policy", "needs_approval"]

APPROVER_ROLES = ("owner", "admin")


@dataclass(frozen=True)
class DeployConfig:
    """The settings deployments depend on (defaults mirror `idp.config.Settings`)."""

    approval_environments: tuple[str, ...] = ("prod",)
    approval_ttl_seconds: int = 3600
    timeout_seconds: float = 900.0
    destination_server: str = IN_CLUSTER

    @classmethod
    def from_settings(cls, settings: Settings) -> DeployConfig:
        return cls(
            approval_environments=tuple(settings.deploy_approval_environments),
            approval_ttl_seconds=settings.deploy_approval_ttl_seconds,
            timeout_seconds=float(settings.deploy_timeout_seconds),
            destination_server=settings.argocd_destination_server,
        )

    @classmethod
    def resolve(cls, config: DeployConfig | None) -> DeployConfig:
        """`config` itself, or (None) the one built from the settings."""
        if config is not None:
            return config
        from idp.config import get_settings

        return cls.from_settings(get_settings())


def approvers(members: list[MemberRead]) -> list[str]:
    """Who may approve: the tenant's owners and admins (platform admins too, though not listed)."""
    return sorted(m.user for m in members if m.role in APPROVER_ROLES)


def effective_policy(
    tenant: str,
    environments: list[str],
    row: PolicyRow | None,
    members: list[MemberRead],
    config: DeployConfig,
) -> DeployPolicyRead:
    """The tenant's row when it has one, else the defaults limited to the tenant's environments."""
    if row is not None:
        return DeployPolicyRead(
            tenant=tenant,
            approval_environments=[e for e in row.approval_environments if e in environments],
            approval_channel=row.approval_channel,
            approval_ttl_seconds=row.approval_ttl_seconds,
            approvers=approvers(members),
        )
    return DeployPolicyRead(
        tenant=tenant,
        approval_environments=[e for e in environments if e in config.approval_environments],
        approval_channel=None,
        approval_ttl_seconds=config.approval_ttl_seconds,
        approvers=approvers(members),
    )


def needs_approval(policy: DeployPolicyRead, environment: str) -> bool:
    return environment in policy.approval_environments
