"""Every route × every kind of caller: allowed or denied, through the real gateway and functions.

The expected table below is written out by hand on purpose: it is the product's promise.
A route added to template.yaml fails `test_every_route_is_listed` until it is listed here
(and in idp.auth.permissions.ROUTE_POLICIES, or the gate refuses it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from idp.auth.permissions import ROUTE_POLICIES
from idp.db import Database
from idp.tenants import service
from idp.tenants.models import Quota, Role
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
}
MEMBERS = ("owner", "admin", "developer", "viewer")
SIGNED_IN = {*MEMBERS, "outsider", "platform_admin"}
EVERYONE = {*SIGNED_IN, "anonymous"}

# (method, resource) -> who may call it. "public" routes accept anyone.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/tenants"): SIGNED_IN,
    ("GET", "/tenants"): SIGNED_IN,
    ("GET", "/tenants/{tenant}"): {*MEMBERS, "platform_admin"},
    ("PATCH", "/tenants/{tenant}"): {"owner", "admin", "platform_admin"},
    ("DELETE", "/tenants/{tenant}"): {"owner", "platform_admin"},
    ("POST", "/tenants/{tenant}/reconcile"): {"owner", "admin", "platform_admin"},
    ("GET", "/tenants/{tenant}/members"): {*MEMBERS, "platform_admin"},
    ("POST", "/tenants/{tenant}/members"): {"owner", "admin", "platform_admin"},
    ("DELETE", "/tenants/{tenant}/members/{user}"): {"owner", "admin", "platform_admin"},
    ("GET", "/tenants/{tenant}/service-accounts"): {"owner", "admin", "developer", "platform_admin"},
    ("POST", "/tenants/{tenant}/service-accounts"): {"owner", "admin", "platform_admin"},
    ("DELETE", "/tenants/{tenant}/service-accounts/{name}"): {"owner", "admin", "platform_admin"},
    ("GET", "/audit"): {"owner", "platform_admin"},
    ("POST", "/auth/token"): EVERYONE,
    ("GET", "/auth/.well-known/jwks.json"): EVERYONE,
    ("GET", "/auth/me"): SIGNED_IN,
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
}


def _template_routes() -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in load_template(ROOT / "template.yaml").api().routes}


def test_every_route_is_listed() -> None:
    routes = _template_routes()
    assert routes - set(EXPECTED) == set(), "list new routes in EXPECTED (and ROUTE_POLICIES)"
    assert routes - set(ROUTE_POLICIES) == set(), "the access gate refuses routes missing from ROUTE_POLICIES"


def _setup(db: Database) -> None:
    with db.transaction():
        tenant = service.insert_tenant(
            db,
            name="payments",
            display_name="Payments",
            environments=["dev"],
            quotas={"dev": Quota()},
            created_by=PERSONAS["owner"] or "",
        )
        for role in MEMBERS:
            service.add_member(db, tenant, user=PERSONAS[role] or "", role=cast(Role, role), added_by="setup")
        service.add_member(db, tenant, user="erin@example.com", role="viewer", added_by="setup")
        service.set_status(db, tenant, "ready")
        _create_service_account(db, tenant)


def _create_service_account(db: Database, tenant: service.TenantRecord) -> None:
    from idp.service_accounts import service as accounts
    from idp.service_accounts.models import ServiceAccountCreate

    accounts.create(
        db,
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        request=ServiceAccountCreate(name="deployer", role="developer"),
        created_by="setup",
    )


def _denied(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 404 and response.json().get("error", {}).get("code") == "tenant_not_found"


CASES = sorted((route, persona) for route in EXPECTED for persona in PERSONAS)


@pytest.mark.parametrize(("route", "persona"), CASES, ids=[f"{m} {p} as {who}" for (m, p), who in CASES])
def test_route_access(api: Any, db: Database, route: tuple[str, str], persona: str) -> None:
    if route not in _template_routes():
        pytest.fail(f"{route} is listed but not served by template.yaml")
    _setup(db)
    method, resource = route
    path, body = REQUESTS.get(route, (resource.replace("{tenant}", "payments"), None))
    response = api.call(method, path, user=PERSONAS[persona], json=body)
    allowed = persona in EXPECTED[route]
    if ROUTE_POLICIES[route].public:
        # Anyone reaches the function: neither the gateway nor the gate stops the call.
        error = response.json().get("error") or {} if response.status_code >= 400 else {}
        assert error.get("message") != "missing or malformed Authorization header", response.text
        assert error.get("code") != "route_not_listed", response.text
        return
    assert _denied(response) != allowed, f"{method} {path} as {persona}: {response.status_code} {response.text}"
