"""The one table of who may do what, enforced in one place for every tenant route.

A caller who is not a member of a tenant gets 404 for it, never 403, so that a tenant's
existence does not leak across teams.
"""

from __future__ import annotations

from enum import StrEnum

from idp.db import Database
from idp.errors import Forbidden
from idp.http.caller import Caller
from idp.tenants import service
from idp.tenants.models import Role
from idp.tenants.service import TenantRecord

__all__ = ["ROLE_PERMISSIONS", "Action", "authorize", "role_allows"]


class Action(StrEnum):
    TENANT_READ = "tenant:read"
    TENANT_UPDATE = "tenant:update"
    TENANT_RECONCILE = "tenant:reconcile"
    TENANT_DELETE = "tenant:delete"
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"
    OWNERS_MANAGE = "owners:manage"


_READ = {Action.TENANT_READ, Action.MEMBERS_READ}
ROLE_PERMISSIONS: dict[Role, frozenset[Action]] = {
    "viewer": frozenset(_READ),
    "developer": frozenset(_READ),
    "admin": frozenset(_READ | {Action.TENANT_UPDATE, Action.TENANT_RECONCILE, Action.MEMBERS_MANAGE}),
    "owner": frozenset(Action),
}


def role_allows(role: Role, action: Action) -> bool:
    return action in ROLE_PERMISSIONS[role]


def authorize(
    db: Database, caller: Caller, tenant_name: str, action: Action, *, for_update: bool = False
) -> TenantRecord:
    """The tenant if `caller` may do `action` on it; NotFound for outsiders, Forbidden for members who may not."""
    tenant = service.get_tenant(db, tenant_name, for_update=for_update)
    if caller.platform_admin:
        return tenant
    member = service.get_member(db, tenant, caller.user_id)
    if member is None:
        raise service_not_found(tenant_name)
    if not role_allows(member.role, action):
        raise Forbidden(
            f"role '{member.role}' may not {action.value} on tenant '{tenant_name}'",
            details={"tenant": tenant_name, "role": member.role, "action": action.value},
        )
    return tenant


def service_not_found(tenant_name: str) -> Exception:
    from idp.errors import NotFound

    return NotFound(f"tenant '{tenant_name}' not found", details={"tenant": tenant_name})
