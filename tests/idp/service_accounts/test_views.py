"""The service-account routes, replayed as API Gateway events through the real resolver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from idp.api import build_resolver
from idp.api.service_accounts import router
from idp.config import reset_settings
from idp.db import Database, reset_database
from idp.schemas.tenants import Quota
from idp.service_accounts import service
from idp.tenants import service as tenants
from idp_local.gateway_events import proxy_event

ALICE = "alice@example.com"


class _Context:
    function_name = "service-accounts-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:service-accounts-test"
    aws_request_id = "test-request"


@pytest.fixture
def app(
    monkeypatch: pytest.MonkeyPatch, db: Database, database_url: str, database_schema: str
) -> Iterator[APIGatewayRestResolver]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    reset_settings()
    reset_database()
    tenant = tenants.insert_tenant(
        db, name="payments", display_name="Payments", environments=["dev"], quotas={"dev": Quota()}, created_by=ALICE
    )
    # The route gate lets tenant admins manage service accounts.
    tenants.add_member(db, tenant, user=ALICE, role="admin", added_by=ALICE)
    yield build_resolver([router], title="service accounts test")
    reset_database()
    reset_settings()


def _call(
    app: APIGatewayRestResolver, method: str, path: str, resource: str, params: dict[str, str], body: Any = None
) -> tuple[int, Any, dict[str, Any]]:
    data = None if body is None else json.dumps(body)
    request = Request(
        EnvironBuilder(method=method, path="/v1" + path, data=data, content_type="application/json").get_environ()
    )
    event = proxy_event(request, resource=resource, stage="v1", path_parameters=params, authorizer={"user_id": ALICE})
    response = app.resolve(event, _Context())
    return response["statusCode"], json.loads(response["body"]), event


COLLECTION = "/tenants/{tenant}/service-accounts"
ITEM = "/tenants/{tenant}/service-accounts/{name}"


def test_create_list_revoke(app: APIGatewayRestResolver, db: Database) -> None:
    status, created, _ = _call(
        app,
        "POST",
        "/tenants/payments/service-accounts",
        COLLECTION,
        {"tenant": "payments"},
        {"name": "ci", "role": "developer", "expires_in_days": 7},
    )
    assert status == 201, created
    assert created["token"].startswith("idp_sa_") and created["created_by"] == ALICE
    assert service.authenticate_token(db, created["token"]).tenant == "payments"

    status, listed, _ = _call(app, "GET", "/tenants/payments/service-accounts", COLLECTION, {"tenant": "payments"})
    assert status == 200 and [a["name"] for a in listed] == ["ci"]
    assert "token" not in listed[0] and created["token"] not in json.dumps(listed)

    params = {"tenant": "payments", "name": "ci"}
    status, revoked, _ = _call(app, "DELETE", "/tenants/payments/service-accounts/ci", ITEM, params)
    assert status == 200 and revoked["revoked_at"] is not None and "token" not in revoked
    assert db.run("SELECT revoked_by FROM service_accounts") == [[ALICE]]
    status, again, _ = _call(app, "DELETE", "/tenants/payments/service-accounts/ci", ITEM, params)
    assert status == 200 and again == revoked


def test_errors(app: APIGatewayRestResolver) -> None:
    collection = "/tenants/payments/service-accounts"
    body = {"name": "ci", "role": "admin"}
    assert _call(app, "POST", collection, COLLECTION, {"tenant": "payments"}, body)[0] == 201
    status, error, _ = _call(app, "POST", collection, COLLECTION, {"tenant": "payments"}, body)
    assert status == 409 and error["error"]["code"] == "conflict"

    status, error, _ = _call(
        app, "POST", collection, COLLECTION, {"tenant": "payments"}, {"name": "ci", "role": "owner"}
    )
    assert status == 422 and [d["field"] for d in error["error"]["details"]] == ["role"]

    status, error, _ = _call(app, "GET", "/tenants/nope/service-accounts", COLLECTION, {"tenant": "nope"})
    assert status == 404 and "nope" in error["error"]["message"]

    params = {"tenant": "payments", "name": "ghost"}
    status, error, _ = _call(app, "DELETE", "/tenants/payments/service-accounts/ghost", ITEM, params)
    assert status == 404 and "ghost" in error["error"]["message"]
