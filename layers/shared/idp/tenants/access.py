"""Who may do what in a tenant: the roles, their actions, and the one check.

`authorize` (by the tenant's name in a path) and `authorize_tenant_id` (by the id a record
such as a deployment carries) return a `TenantAccess`: the live tenant, the caller and the
role the decision rests on. The HTTP gate decides once per request and hands the access to
the flow, which never authorizes again. A caller who is not a member gets NotFound, never
Forbidden, so a tenant's existence does not leak across teams; platform admins act as owners.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from idp.db import Database
from idp.errors import Forbidden, NotFound
from idp.principal import Caller
from idp.schemas.tenants import Role
from idp.tenants import service
from idp.tenants.service import TenantRecord

__all__ = [
    "ROLE_PERMISSIONS",
    "Action",
    "TenantAccess",
    "authorize",
    "authorize_tenant_id",
    "caller_role",
    "role_allows",
    "tenant_not_found",
]


class Action(StrEnum):
    TENANT_READ = "tenant:read"
    TENANT_UPDATE = "tenant:update"
    TENANT_RECONCILE = "tenant:reconcile"
    TENANT_DELETE = "tenant:delete"
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"
    OWNERS_MANAGE = "owners:manage"
    SERVICE_ACCOUNTS_READ = "service-accounts:read"
    SERVICE_ACCOUNTS_MANAGE = "service-accounts:manage"
    AUDIT_READ = "audit:read"
    APPS_READ = "apps:read"
    APPS_WRITE = "apps:write"
    APPS_DELETE = "apps:delete"
    DEPLOY = "deploy"
    DEPLOY_APPROVE = "deploy:approve"
    DEPLOY_POLICY_MANAGE = "deploy-policy:manage"


_READ = {Action.TENANT_READ, Action.MEMBERS_READ, Action.APPS_READ}
_DEVELOP = {Action.SERVICE_ACCOUNTS_READ, Action.APPS_WRITE, Action.DEPLOY}
ROLE_PERMISSIONS: dict[Role, frozenset[Action]] = {
    "viewer": frozenset(_READ),
    "developer": frozenset(_READ | _DEVELOP),
    "admin": frozenset(
        _READ
        | _DEVELOP
        | {
            Action.APPS_DELETE,
            Action.DEPLOY_APPROVE,
            Action.TENANT_UPDATE,
            Action.TENANT_RECONCILE,
            Action.MEMBERS_MANAGE,
            Action.SERVICE_ACCOUNTS_READ,
            Action.SERVICE_ACCOUNTS_MANAGE,
        }
    ),
    "owner": frozenset(Action),
}


def role_allows(role: Role, action: Action) -> bool:
    return action in ROLE_PERMISSIONS[role]


@dataclass(frozen=True)
class TenantAccess:
    """What the gate decided: `caller` acts on the live `tenant` with `role`."""

    caller: Caller
    tenant: TenantRecord
    role: Role

    def allows(self, action: Action) -> bool:
        return role_allows(self.role, action)

    def require(self, action: Action) -> None:
        """Forbidden unless the role allows `action` (for checks that depend on the data, such as owners)."""
        if not self.allows(action):
            raise Forbidden(
                f"role '{self.role}' may not {action.value} on tenant '{self.tenant.name}'",
                details={"tenant": self.tenant.name, "role": self.role, "action": action.value},
            )

    def with_tenant(self, tenant: TenantRecord) -> TenantAccess:
        """The same decision over a fresher (or locked) read of the same tenant."""
        assert tenant.id == self.tenant.id
        return TenantAccess(self.caller, tenant, self.role)


def caller_role(db: Database, caller: Caller, tenant: TenantRecord) -> Role | None:
    """The caller's role in the tenant (platform admins act as owners), or None for outsiders."""
    if caller.platform_admin:
        return "owner"
    if caller.kind == "service_account":
        role = caller.role if caller.tenant_id == tenant.id else None
        return cast(Role, role) if role in ROLE_PERMISSIONS else None
    member = service.get_member(db, tenant, caller.user_id)
    return member.role if member else None


def authorize(db: Database, caller: Caller, tenant_name: str, action: Action) -> TenantAccess:
    """`caller`'s access to the live tenant `tenant_name` for `action`; NotFound for outsiders,
    Forbidden for members whose role may not."""
    try:
        tenant = service.get_tenant(db, tenant_name)
    except NotFound:
        raise tenant_not_found(tenant_name) from None
    return _decide(db, caller, tenant, action)


def authorize_tenant_id(db: Database, caller: Caller, tenant_id: str, action: Action) -> TenantAccess:
    """Like `authorize`, for a record that names its tenant by id (a deployment): a tenant
    deleted since, even if its name was reused, is NotFound for everyone."""
    tenant = service.get_tenant_by_id(db, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found", code="tenant_not_found")
    return _decide(db, caller, tenant, action)


def _decide(db: Database, caller: Caller, tenant: TenantRecord, action: Action) -> TenantAccess:
    role = caller_role(db, caller, tenant)
    if role is None:
        raise tenant_not_found(tenant.name)
    access = TenantAccess(caller, tenant, role)
    access.require(action)
    return access


def tenant_not_found(tenant_name: str) -> NotFound:
    return NotFound(f"tenant '{tenant_name}' not found", code="tenant_not_found", details={"tenant": tenant_name})
