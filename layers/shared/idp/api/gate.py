"""The one table of who may call each route, and the one gate that enforces it before every handler.

Every route of every function is listed in `ROUTE_POLICIES`; the gate (installed on each
resolver by `idp.api.build_resolver`) looks the route up before the handler runs. A route
missing from the table is refused (fail closed), and the role × route test fails until it
is listed. Tenant-scoped routes are decided by `idp.tenants.access` once; the decision (a
`TenantAccess`) is handed to the handler, and the flows never authorize again. A caller who
is not a member of a tenant gets 404 for it, never 403, so that a tenant's existence does
not leak across teams. Routes without a tenant in the path (a deployment's id) name how to
find it (`tenant_from`); an unknown id and an outsider get the same 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from idp.db import Database
from idp.errors import Forbidden, NotFound, Unauthenticated
from idp.principal import Caller
from idp.tenants.access import Action, TenantAccess, authorize, authorize_tenant_id

__all__ = [
    "ROUTE_POLICIES",
    "Decision",
    "RoutePolicy",
    "check_route",
]


@dataclass(frozen=True)
class RoutePolicy:
    """Who may call a route.

    `public`: no caller needed. `action`: a tenant-scoped action checked against the
    caller's role in the path's tenant. Otherwise any signed-in user (`users_only` keeps
    service accounts out). `tenant_from`: where the action's tenant comes from — the
    `{tenant}` path parameter or `?tenant=` ("path"), or the tenant of the `{deployment}` in
    the path ("deployment"). `admins_unscoped`: platform admins pass without a tenant check
    (the audit log: they read deleted tenants' entries too).
    `iam_role`: no platform token at all; the request must be signed (SigV4, the route is
    `AWS_IAM`) by a session of that function's IAM role ("chatops": `CHATOPS_ROLE_ARN`).
    """

    public: bool = False
    action: Action | None = None
    users_only: bool = False
    admins_unscoped: bool = False
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
    ("GET", "/audit"): RoutePolicy(action=Action.AUDIT_READ, users_only=True, admins_unscoped=True),
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
    ("GET", "/openapi.json"): PUBLIC,  # the API's contract
    ("GET", "/auth/me"): RoutePolicy(),
    ("POST", "/auth/link-codes"): SIGNED_IN_USER,
    # The chat-ops function's own: a linked Slack user's short-lived token, and linking.
    ("POST", "/auth/slack/token"): CHATOPS_ONLY,
    ("POST", "/auth/slack/links"): CHATOPS_ONLY,
    ("POST", "/auth/slack/deliveries"): CHATOPS_ONLY,
    # Slack requests carry Slack's signature (checked by the chat-ops app), not our token.
    ("POST", "/slack/events"): PUBLIC,
}


@dataclass(frozen=True)
class Decision:
    """What the gate decided: who calls (None on public routes), and for tenant-scoped routes
    the caller's access to that tenant, which the handler passes to the flow."""

    caller: Caller | None = None
    access: TenantAccess | None = None


def check_route(
    database: Callable[[], Database],
    caller: Caller | None,
    method: str,
    resource: str,
    path_parameters: dict[str, str],
    query: dict[str, str] | None = None,
    iam_user_arn: str | None = None,
) -> Decision:
    """Raises unless `caller` may call this route, else says what it decided. The single gate.

    `database` is called only when the check needs it (public routes never open one).
    `iam_user_arn`: the IAM principal API Gateway authenticated (AWS_IAM routes only).
    """
    policy = ROUTE_POLICIES.get((method.upper(), resource))
    if policy is None:
        raise Forbidden(f"{method} {resource} has no access policy", code="route_not_listed")
    if policy.iam_role is not None:
        _check_iam_role(policy.iam_role, iam_user_arn)
        return Decision()
    if policy.public:
        return Decision(caller)
    if caller is None:
        raise Unauthenticated("this route needs a signed-in caller")
    if caller.kind == "service_account":
        _check_service_account_active(database(), caller)
        if policy.users_only:
            raise Forbidden("service accounts may not call this route", code="forbidden")
    if policy.action is None or (policy.admins_unscoped and caller.platform_admin):
        return Decision(caller)
    if policy.tenant_from == "deployment":
        deployment = path_parameters.get("deployment")
        return Decision(caller, _authorize_deployment(database, caller, deployment, policy.action))
    tenant = path_parameters.get("tenant") or (query or {}).get("tenant")
    if tenant is None:
        raise Forbidden("name a tenant with ?tenant=", code="tenant_required")
    db = database()
    with db.transaction():
        return Decision(caller, authorize(db, caller, tenant, policy.action))


def _check_iam_role(role: Literal["chatops"], iam_user_arn: str | None) -> None:
    """The request was signed by a session of the role's function; platform tokens never count."""
    from idp.api.iam import is_session_of_role
    from idp.config import get_settings

    if not is_session_of_role(iam_user_arn, get_settings().chatops_role_arn):
        raise Forbidden("only the chat-ops function may call this route", code="forbidden")


def _authorize_deployment(
    database: Callable[[], Database], caller: Caller, deployment_id: str | None, action: Action
) -> TenantAccess:
    """`action` on the tenant of the deployment; an unknown id and an outsider both get `deployment_not_found`."""
    from idp.deploy.flows import deployment_not_found, deployment_tenant_id  # only the argocd function's routes

    if not deployment_id or not _is_uuid(deployment_id):
        raise deployment_not_found(deployment_id or "")

    db = database()
    with db.transaction():
        tenant_id = deployment_tenant_id(db, deployment_id)
        if tenant_id is None:
            raise deployment_not_found(deployment_id)
        try:
            return authorize_tenant_id(db, caller, tenant_id, action)
        except NotFound:
            raise deployment_not_found(deployment_id) from None


def _is_uuid(value: str) -> bool:
    """A deployment id as the platform writes it (canonical UUID), before any query sees it."""
    try:
        return str(UUID(value)) == value.lower()
    except ValueError:
        return False


def _check_service_account_active(db: Database, caller: Caller) -> None:
    # API Gateway caches authorizer results; this check makes a revocation effective at once.
    from idp.service_accounts.service import is_active

    if not caller.service_account_id or not is_active(db, caller.service_account_id):
        raise Unauthenticated("service-account token has been revoked or has expired", code="token_revoked")
