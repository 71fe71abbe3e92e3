"""The one table of who may do what, and the one gate that enforces it for every route.

Every route of every function is listed in `ROUTE_POLICIES`; the gate (installed on each
resolver by `idp.http.build_resolver`) looks the route up before the handler runs. A route
missing from the table is refused (fail closed), and the role × route test fails until it
is listed. A caller who is not a member of a tenant gets 404 for it, never 403, so that a
tenant's existence does not leak across teams. Routes without a tenant in the path (a
deployment's id) name how to find it (`tenant_from`); an unknown id and an outsider get the
same 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, cast
from uuid import UUID

from idp.db import Database
from idp.errors import Forbidden, NotFound, Unauthenticated
from idp.http.caller import Caller
from idp.tenants import service
from idp.tenants.models import Role
from idp.tenants.service import TenantRecord

__all__ = [
    "ROLE_PERMISSIONS",
    "ROUTE_POLICIES",
    "Action",
    "RoutePolicy",
    "authorize",
    "authorize_tenant_id",
    "check_route",
    "role_allows",
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


@dataclass(frozen=True)
class RoutePolicy:
    """Who may call a route.

    `public`: no caller needed. `action`: a tenant-scoped action checked against the
    caller's role in the path's tenant. Otherwise any signed-in user (`users_only` keeps
    service accounts out; `admin_only` keeps everyone but platform admins out).
    `tenant_from`: where the action's tenant comes from — the `{tenant}` path parameter or
    `?tenant=` ("path"), or the tenant of the `{deployment}` in the path ("deployment").
    `iam_role`: no platform token at all; the request must be signed (SigV4, the route is
    `AWS_IAM`) by a session of that function's IAM role ("chatops": `CHATOPS_ROLE_ARN`).
    """

    public: bool = False
    action: Action | None = None
    users_only: bool = False
    admin_only: bool = False
    tenant_from: Literal["path", "deployment"] = "path"
    iam_role: Literal["chatops"] | None = None


PUBLIC = RoutePolicy(public=True)
SIGNED_IN_USER = RoutePolicy(users_only=True)
CHATOPS_ONLY = RoutePolicy(iam_role="chatops")


def _tenant(action: Action) -> RoutePolicy:
    return RoutePolicy(action=action)


def _deployment(action: Action, *, users_only: bool = False) -> RoutePolicy:
    return RoutePolicy(action=action, users_only=users_only, tenant_from="deployment")


# (method, API Gateway resource path) -> policy. Every route in template.yaml is here.
ROUTE_POLICIES: dict[tuple[str, str], RoutePolicy] = {
    ("POST", "/tenants"): SIGNED_IN_USER,
    ("GET", "/tenants"): RoutePolicy(),
    ("GET", "/tenants/{tenant}"): _tenant(Action.TENANT_READ),
    ("PATCH", "/tenants/{tenant}"): _tenant(Action.TENANT_UPDATE),
    ("DELETE", "/tenants/{tenant}"): _tenant(Action.TENANT_DELETE),
    ("POST", "/tenants/{tenant}/reconcile"): _tenant(Action.TENANT_RECONCILE),
    ("GET", "/tenants/{tenant}/members"): _tenant(Action.MEMBERS_READ),
    ("POST", "/tenants/{tenant}/members"): _tenant(Action.MEMBERS_MANAGE),
    ("DELETE", "/tenants/{tenant}/members/{user}"): _tenant(Action.MEMBERS_MANAGE),
    ("GET", "/tenants/{tenant}/service-accounts"): _tenant(Action.SERVICE_ACCOUNTS_READ),
    # People only: a leaked token must not mint tokens that outlive its own revocation, nor
    # revoke the others' to hide.
    ("POST", "/tenants/{tenant}/service-accounts"): RoutePolicy(action=Action.SERVICE_ACCOUNTS_MANAGE, users_only=True),
    ("DELETE", "/tenants/{tenant}/service-accounts/{name}"): RoutePolicy(
        action=Action.SERVICE_ACCOUNTS_MANAGE, users_only=True
    ),
    # Platform admins read all of it; anyone else must name (?tenant=) a tenant they own.
    ("GET", "/audit"): RoutePolicy(action=Action.AUDIT_READ, users_only=True),
    # Applications and deployments (the argocd function).
    ("GET", "/apps"): RoutePolicy(),  # only the caller's tenants' apps are listed
    ("POST", "/tenants/{tenant}/apps"): _tenant(Action.APPS_WRITE),
    ("GET", "/tenants/{tenant}/apps"): _tenant(Action.APPS_READ),
    ("GET", "/tenants/{tenant}/apps/{app}"): _tenant(Action.APPS_READ),
    ("DELETE", "/tenants/{tenant}/apps/{app}"): _tenant(Action.APPS_DELETE),
    ("POST", "/tenants/{tenant}/apps/{app}/deployments"): _tenant(Action.DEPLOY),
    ("GET", "/tenants/{tenant}/apps/{app}/deployments"): _tenant(Action.APPS_READ),
    ("POST", "/tenants/{tenant}/apps/{app}/rollback"): _tenant(Action.DEPLOY),
    ("GET", "/deployments/{deployment}"): _deployment(Action.APPS_READ),
    # A decision is a person's: service accounts never approve or reject.
    ("POST", "/deployments/{deployment}/approve"): _deployment(Action.DEPLOY_APPROVE, users_only=True),
    ("POST", "/deployments/{deployment}/reject"): _deployment(Action.DEPLOY_APPROVE, users_only=True),
    ("GET", "/tenants/{tenant}/deploy-policy"): _tenant(Action.APPS_READ),
    ("PUT", "/tenants/{tenant}/deploy-policy"): _tenant(Action.DEPLOY_POLICY_MANAGE),
    ("POST", "/auth/token"): PUBLIC,
    ("GET", "/auth/.well-known/jwks.json"): PUBLIC,
    ("GET", "/auth/me"): RoutePolicy(),
    ("POST", "/auth/link-codes"): SIGNED_IN_USER,
    # The chat-ops function's own: a linked Slack user's short-lived token, and linking.
    ("POST", "/auth/slack/token"): CHATOPS_ONLY,
    ("POST", "/auth/slack/links"): CHATOPS_ONLY,
    # Slack requests carry Slack's signature (checked by the chat-ops app), not our token.
    ("POST", "/slack/events"): PUBLIC,
}


def role_allows(role: Role, action: Action) -> bool:
    return action in ROLE_PERMISSIONS[role]


def check_route(
    database: Callable[[], Database],
    caller: Caller | None,
    method: str,
    resource: str,
    path_parameters: dict[str, str],
    query: dict[str, str] | None = None,
    iam_user_arn: str | None = None,
) -> None:
    """Raises unless `caller` may call this route. The single gate in front of every handler.

    `database` is called only when the check needs it (public routes never open one).
    `iam_user_arn`: the IAM principal API Gateway authenticated (AWS_IAM routes only).
    """
    policy = ROUTE_POLICIES.get((method.upper(), resource))
    if policy is None:
        raise Forbidden(f"{method} {resource} has no access policy", code="route_not_listed")
    if policy.iam_role is not None:
        _check_iam_role(policy.iam_role, iam_user_arn)
        return
    if policy.public:
        return
    if caller is None:
        raise Unauthenticated("this route needs a signed-in caller")
    if caller.kind == "service_account":
        _check_service_account_active(database(), caller)
        if policy.users_only or policy.admin_only:
            raise Forbidden("service accounts may not call this route", code="forbidden")
    if policy.admin_only and not caller.platform_admin:
        raise Forbidden("only platform admins may call this route", code="forbidden")
    if policy.action is None:
        return
    if policy.tenant_from == "deployment":
        _authorize_deployment(database, caller, path_parameters.get("deployment"), policy.action)
        return
    tenant = path_parameters.get("tenant") or (query or {}).get("tenant")
    if tenant is None:
        if caller.platform_admin:
            return
        raise Forbidden("name a tenant with ?tenant=", code="tenant_required")
    db = database()
    with db.transaction():
        authorize(db, caller, tenant, policy.action)


def _check_iam_role(role: Literal["chatops"], iam_user_arn: str | None) -> None:
    """The request was signed by a session of the role's function; platform tokens never count."""
    from idp.auth.iam import is_session_of_role
    from idp.config import get_settings

    if not is_session_of_role(iam_user_arn, get_settings().chatops_role_arn):
        raise Forbidden("only the chat-ops function may call this route", code="forbidden")


def _authorize_deployment(
    database: Callable[[], Database], caller: Caller, deployment_id: str | None, action: Action
) -> None:
    """`action` on the tenant of the deployment; an unknown id and an outsider both get `deployment_not_found`."""
    if not deployment_id or not _is_uuid(deployment_id):
        raise _deployment_not_found(deployment_id or "")
    from idp.deploy.flows import deployment_tenant_id  # only the argocd function pays for this import

    db = database()
    with db.transaction():
        tenant_id = deployment_tenant_id(db, deployment_id)
        if tenant_id is None:
            raise _deployment_not_found(deployment_id)
        try:
            authorize_tenant_id(db, caller, tenant_id, action)
        except NotFound:
            raise _deployment_not_found(deployment_id) from None


def _is_uuid(value: str) -> bool:
    """A deployment id as the platform writes it (canonical UUID), before any query sees it."""
    try:
        return str(UUID(value)) == value.lower()
    except ValueError:
        return False


def _deployment_not_found(deployment_id: str) -> NotFound:
    return NotFound(
        f"deployment '{deployment_id}' not found", code="deployment_not_found", details={"deployment": deployment_id}
    )


def _check_service_account_active(db: Database, caller: Caller) -> None:
    # API Gateway caches authorizer results; this check makes a revocation effective at once.
    from idp.service_accounts.service import is_active

    if not caller.service_account_id or not is_active(db, caller.service_account_id):
        raise Unauthenticated("service-account token has been revoked or has expired", code="token_revoked")


def caller_role(db: Database, caller: Caller, tenant: TenantRecord) -> Role | None:
    """The caller's role in the tenant (platform admins act as owners), or None for outsiders."""
    if caller.platform_admin:
        return "owner"
    if caller.kind == "service_account":
        role = caller.role if caller.tenant_id == tenant.id else None
        return cast(Role, role) if role in ROLE_PERMISSIONS else None
    member = service.get_member(db, tenant, caller.user_id)
    return member.role if member else None


def authorize(
    db: Database, caller: Caller, tenant_name: str, action: Action, *, for_update: bool = False
) -> TenantRecord:
    """The tenant if `caller` may do `action` on it; NotFound for outsiders, Forbidden for members who may not."""
    try:
        tenant = service.get_tenant(db, tenant_name, for_update=for_update)
    except NotFound:
        raise _tenant_not_found(tenant_name) from None
    return _check_role(db, caller, tenant, action)


def authorize_tenant_id(db: Database, caller: Caller, tenant_id: str, action: Action) -> TenantRecord:
    """Like `authorize`, for a record that names its tenant by id (a deployment): a tenant
    deleted since, even if its name was reused, is NotFound for everyone."""
    tenant = service.get_tenant_by_id(db, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found", code="tenant_not_found")
    return _check_role(db, caller, tenant, action)


def _check_role(db: Database, caller: Caller, tenant: TenantRecord, action: Action) -> TenantRecord:
    role = caller_role(db, caller, tenant)
    if role is None:
        raise _tenant_not_found(tenant.name)
    if not role_allows(role, action):
        raise Forbidden(
            f"role '{role}' may not {action.value} on tenant '{tenant.name}'",
            details={"tenant": tenant.name, "role": role, "action": action.value},
        )
    return tenant


def _tenant_not_found(tenant_name: str) -> NotFound:
    return NotFound(f"tenant '{tenant_name}' not found", code="tenant_not_found", details={"tenant": tenant_name})
