"""Every route × every kind of caller: allowed or denied, through the real gateway and functions.

The expected table below is written out by hand on purpose: it is the product's promise.
A route added to template.yaml fails `test_every_route_is_listed` until it is listed here
(and in idp.api.gate.ROUTE_POLICIES, or the gate refuses it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from idp.api.gate import ROUTE_POLICIES
from idp.db import Database
from idp.schemas.tenants import Quota, Role
from idp.tenants import service
from idp_local.gateway import IamCredential, LocalGateway
from idp_local.template import load_template

ROOT = Path(__file__).resolve().parents[3]
PERSONAS = {
    "owner": "olivia@example.com",
    "admin": "adam@example.com",
    "developer": "devi@example.com",
    "viewer": "victor@example.com",
    "outsider": "otto@example.com",
    "platform_admin": "platform-admin@example.com",
    "anonymous": None,
    # Service accounts of the tenant (tokens made in _setup), acting with their role there only.
    "sa_admin": None,
    "sa_viewer": None,
    # AWS IAM callers (SigV4, no platform token): the chat-ops function's role, and another
    # principal API Gateway would authenticate just as well.
    "chatops": None,
    "iam_other": None,
}
# Access key id -> (secret, principal); the chat-ops key is the test AWS key (tests/conftest.py).
IAM_KEYS = {
    "chatops": ("testing", "testing", None),
    "iam_other": ("AKIAOTHER", "other-secret", "arn:aws:sts::123456789012:assumed-role/local-tenant/tenant"),
}
SLACK_TEAM, SLACK_OWNER = "T0PAYMENTS", "U0OLIVIA"
SERVICE_ACCOUNTS = {"sa_admin": "admin", "sa_viewer": "viewer"}
MEMBERS = ("owner", "admin", "developer", "viewer")
USERS = {*MEMBERS, "outsider", "platform_admin"}
SIGNED_IN = {*USERS, *SERVICE_ACCOUNTS}
EVERYONE = {*SIGNED_IN, "anonymous", *IAM_KEYS}
READERS = {*MEMBERS, "platform_admin", *SERVICE_ACCOUNTS}
MANAGERS = {"owner", "admin", "platform_admin", "sa_admin"}
DEVELOPERS = {"owner", "admin", "developer", "platform_admin", "sa_admin"}
APPROVERS = {"owner", "admin", "platform_admin"}  # people only: service accounts never decide
REPO = "https://github.com/acme/payments"

# (method, resource) -> who may call it. "public" routes accept anyone.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/tenants"): USERS,
    ("GET", "/tenants"): SIGNED_IN,
    ("GET", "/tenants/{tenant}"): READERS,
    ("PATCH", "/tenants/{tenant}"): MANAGERS,
    ("DELETE", "/tenants/{tenant}"): {"owner", "platform_admin"},
    ("POST", "/tenants/{tenant}/reconcile"): MANAGERS,
    ("GET", "/tenants/{tenant}/members"): READERS,
    ("POST", "/tenants/{tenant}/members"): MANAGERS,
    ("DELETE", "/tenants/{tenant}/members/{user}"): MANAGERS,
    ("GET", "/tenants/{tenant}/service-accounts"): {"owner", "admin", "developer", "platform_admin", "sa_admin"},
    # People only: a service account never mints or revokes service accounts.
    ("POST", "/tenants/{tenant}/service-accounts"): MANAGERS - set(SERVICE_ACCOUNTS),
    ("DELETE", "/tenants/{tenant}/service-accounts/{name}"): MANAGERS - set(SERVICE_ACCOUNTS),
    ("GET", "/audit"): {"owner", "platform_admin"},
    ("GET", "/apps"): SIGNED_IN,
    ("POST", "/tenants/{tenant}/apps"): DEVELOPERS,
    ("GET", "/tenants/{tenant}/apps"): READERS,
    ("GET", "/tenants/{tenant}/apps/{app}"): READERS,
    ("DELETE", "/tenants/{tenant}/apps/{app}"): MANAGERS,
    ("POST", "/tenants/{tenant}/apps/{app}/deployments"): DEVELOPERS,
    ("GET", "/tenants/{tenant}/apps/{app}/deployments"): READERS,
    ("POST", "/tenants/{tenant}/apps/{app}/rollback"): DEVELOPERS,
    ("GET", "/deployments/{deployment}"): READERS,
    ("POST", "/deployments/{deployment}/approve"): APPROVERS,
    ("POST", "/deployments/{deployment}/reject"): APPROVERS,
    ("GET", "/tenants/{tenant}/deploy-policy"): READERS,
    ("PUT", "/tenants/{tenant}/deploy-policy"): {"owner", "platform_admin"},
    ("POST", "/auth/token"): EVERYONE,
    ("GET", "/auth/.well-known/jwks.json"): EVERYONE,
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/auth/me"): SIGNED_IN,
    ("POST", "/auth/link-codes"): USERS,
    # The chat-ops function alone (AWS_IAM and its role): no platform token ever reaches them.
    ("POST", "/auth/slack/token"): {"chatops"},
    ("POST", "/auth/slack/links"): {"chatops"},
    ("POST", "/auth/slack/deliveries"): {"chatops"},
    ("POST", "/slack/events"): EVERYONE,
}

# Concrete requests for each route; bodies are valid so an allowed call succeeds.
REQUESTS: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/tenants"): ("/tenants", {"name": "newteam", "display_name": "New", "environments": ["dev"]}),
    ("PATCH", "/tenants/{tenant}"): ("/tenants/payments", {"display_name": "Renamed"}),
    ("POST", "/tenants/{tenant}/members"): ("/tenants/payments/members", {"user": "fay@example.com", "role": "viewer"}),
    ("DELETE", "/tenants/{tenant}/members/{user}"): ("/tenants/payments/members/erin@example.com", None),
    ("POST", "/tenants/{tenant}/service-accounts"): (
        "/tenants/payments/service-accounts",
        {"name": "ci", "role": "developer"},
    ),
    ("DELETE", "/tenants/{tenant}/service-accounts/{name}"): ("/tenants/payments/service-accounts/deployer", None),
    ("GET", "/audit"): ("/audit?tenant=payments", None),
    ("POST", "/auth/token"): ("/auth/token", {"id_token": "not-a-token"}),
    ("POST", "/auth/slack/token"): ("/auth/slack/token", {"team_id": SLACK_TEAM, "slack_user_id": SLACK_OWNER}),
    ("POST", "/auth/slack/links"): ("/auth/slack/links", {"team_id": SLACK_TEAM, "slack_user_id": SLACK_OWNER}),
    ("POST", "/auth/slack/deliveries"): ("/auth/slack/deliveries", {"key": "command:1.2.3", "kind": "command"}),
    ("GET", "/apps"): ("/apps?name=web", None),
    ("POST", "/tenants/{tenant}/apps"): ("/tenants/payments/apps", {"name": "api", "repo_url": REPO}),
    ("GET", "/tenants/{tenant}/apps/{app}"): ("/tenants/payments/apps/web", None),
    ("DELETE", "/tenants/{tenant}/apps/{app}"): ("/tenants/payments/apps/web", None),
    ("POST", "/tenants/{tenant}/apps/{app}/deployments"): (
        "/tenants/payments/apps/web/deployments",
        {"environment": "dev", "revision": "v3"},
    ),
    ("GET", "/tenants/{tenant}/apps/{app}/deployments"): ("/tenants/payments/apps/web/deployments?limit=5", None),
    ("POST", "/tenants/{tenant}/apps/{app}/rollback"): ("/tenants/payments/apps/web/rollback", {"environment": "dev"}),
    ("POST", "/deployments/{deployment}/approve"): ("/deployments/{deployment}/approve", {"comment": "ship it"}),
    ("PUT", "/tenants/{tenant}/deploy-policy"): (
        "/tenants/payments/deploy-policy",
        {"approval_environments": ["prod"], "approval_ttl_seconds": 600},
    ),
}
# Routes that need the app `web` with deployments: two that succeeded in dev (v1, v2: something
# to roll back to) and one waiting for approval in prod, requested by the developer.
DEPLOY_ROUTES = {route for route in EXPECTED if "/apps" in route[1] or "deploy" in route[1]}


def _template_routes() -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in load_template(ROOT / "template.yaml").api().routes}


def test_every_route_is_listed() -> None:
    routes = _template_routes()
    assert routes - set(EXPECTED) == set(), "list new routes in EXPECTED (and ROUTE_POLICIES)"
    assert routes - set(ROUTE_POLICIES) == set(), "the access gate refuses routes missing from ROUTE_POLICIES"


def _setup(db: Database) -> dict[str, str]:
    """The tenant `payments` with a member of each role, and service-account tokens by persona."""
    with db.transaction():
        tenant = service.insert_tenant(
            db,
            name="payments",
            display_name="Payments",
            environments=["dev", "prod"],
            quotas={"dev": Quota(), "prod": Quota()},
            created_by=PERSONAS["owner"] or "",
        )
        for role in MEMBERS:
            service.add_member(db, tenant, user=PERSONAS[role] or "", role=cast(Role, role), added_by="setup")
        service.add_member(db, tenant, user="erin@example.com", role="viewer", added_by="setup")
        service.set_status(db, tenant, "ready")
        _create_service_account(db, tenant, "deployer", "developer")
        return {p: _create_service_account(db, tenant, p.replace("_", "-"), r) for p, r in SERVICE_ACCOUNTS.items()}


def _create_service_account(db: Database, tenant: service.TenantRecord, name: str, role: str) -> str:
    from idp.schemas.service_accounts import ServiceAccountCreate
    from idp.service_accounts import service as accounts

    return accounts.create(
        db,
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        request=ServiceAccountCreate.model_validate({"name": name, "role": role}),
        created_by="setup",
        max_days=90,
    ).token


def _setup_deployments(db: Database) -> str:
    """The app `web` (Argo CD project and applications included) and its deployments; the pending one's id."""
    from idp import deps
    from idp.config import get_settings
    from idp.deploy import apps, flows, tracking
    from idp.principal import Caller
    from idp.schemas.deploy import AppCreate, DeploymentCreate
    from idp.tenants import argocd_project
    from idp.tenants.access import Action, authorize

    argocd, server = deps.argocd(), get_settings().argocd_destination_server
    with db.transaction():
        tenant = service.get_tenant(db, "payments")
        service.set_repositories(db, tenant, [REPO], added_by="setup")
    argocd.upsert_project(
        argocd_project.project("payments", tenant.namespaces(), [REPO], server=server, tenant_id=tenant.id)
    )
    with db.transaction():
        owner = authorize(db, Caller(user_id=PERSONAS["owner"] or ""), "payments", Action.APPS_WRITE)
        developer = authorize(db, Caller(user_id=PERSONAS["developer"] or ""), "payments", Action.DEPLOY)
    apps.create_app(db, argocd, owner, AppCreate(name="web", repo_url=REPO), server=server)
    for revision in ("v1", "v2"):
        request = DeploymentCreate(environment="dev", revision=revision)
        deployment, _ = flows.request_deployment(db, argocd, None, developer, "web", request, idempotency_key=None)
        for _ in range(20):
            if deployment.state in ("succeeded", "failed"):
                break
            tracking.poll_once(db, argocd, None)
            deployment = flows.get_deployment(db, developer, deployment.id)
        assert deployment.state == "succeeded", deployment
    request = DeploymentCreate(environment="prod", revision="v2")
    pending, _ = flows.request_deployment(db, argocd, None, developer, "web", request, idempotency_key=None)
    assert pending.state == "pending_approval", pending
    return pending.id


# What outsiders get: nothing leaks. An unsigned call to an AWS_IAM route is API Gateway's
# MISSING_AUTHENTICATION_TOKEN, which template.yaml answers as an unknown route (route_not_found).
NOT_FOUND_CODES = {"tenant_not_found", "deployment_not_found", "route_not_found"}


def _denied(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 404 and response.json().get("error", {}).get("code") in NOT_FOUND_CODES


CASES = sorted((route, persona) for route in EXPECTED for persona in PERSONAS)


def _setup_slack_link(db: Database) -> None:
    """The owner signed in and linked to a Slack user, so chat-ops' calls for them succeed."""
    from idp.auth import slack_links, users
    from idp.clients.oidc import OidcIdentity

    owner = PERSONAS["owner"] or ""
    with db.transaction():
        users.record_sign_in(db, OidcIdentity(subject=owner, email=owner, email_verified=True, issuer="t", claims={}))
        code = slack_links.create_link_code(db, owner)
        slack_links.link_by_code(db, team_id=SLACK_TEAM, slack_user_id=SLACK_OWNER, code=code)


def _iam_call(
    api: Any, gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch, persona: str, method: str, path: str, body: Any
) -> Any:
    """The request signed (SigV4) with the persona's access key, which the gateway knows."""
    from botocore.credentials import Credentials

    from idp.clients.sigv4 import SigV4Auth

    key, secret, principal = IAM_KEYS[persona]
    if principal is not None:
        monkeypatch.setitem(gateway.iam_credentials, key, IamCredential(secret, principal))
    auth = SigV4Auth(region="us-east-1", credentials=Credentials(key, secret))
    return api.session.request(method, api.base_url + path, json=body, auth=auth, timeout=30)


@pytest.mark.parametrize(("route", "persona"), CASES, ids=[f"{m} {p} as {who}" for (m, p), who in CASES])
def test_route_access(
    api: Any,
    db: Database,
    gateway: LocalGateway,
    monkeypatch: pytest.MonkeyPatch,
    route: tuple[str, str],
    persona: str,
) -> None:
    if route not in _template_routes():
        pytest.fail(f"{route} is listed but not served by template.yaml")
    sa_tokens = _setup(db)
    method, resource = route
    path, body = REQUESTS.get(route, (resource.replace("{tenant}", "payments").replace("{app}", "web"), None))
    if route in DEPLOY_ROUTES:
        path = path.replace("{deployment}", _setup_deployments(db))
    if resource.startswith("/auth/slack/"):
        _setup_slack_link(db)
    if persona in IAM_KEYS:
        response = _iam_call(api, gateway, monkeypatch, persona, method, path, body)
    elif persona in sa_tokens:
        headers = {"Authorization": f"Bearer {sa_tokens[persona]}"}
        response = api.call(method, path, user=None, json=body, headers=headers)
    else:
        response = api.call(method, path, user=PERSONAS[persona], json=body)
    allowed = persona in EXPECTED[route]
    if ROUTE_POLICIES[route].public:
        # Anyone reaches the function: neither the gateway nor the gate stops the call.
        error = response.json().get("error") or {} if response.status_code >= 400 else {}
        assert error.get("message") != "missing or malformed Authorization header", response.text
        assert error.get("code") != "route_not_listed", response.text
        return
    assert _denied(response) != allowed, f"{method} {path} as {persona}: {response.status_code} {response.text}"
