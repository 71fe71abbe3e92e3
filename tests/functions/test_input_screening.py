"""Bad input always gets a clear 4xx naming the problem, never a 500: over real HTTP through the
local gateway, against PostgreSQL and the emulators (issue: "Every bad request gets a clear 4xx")."""

from __future__ import annotations

import json
from typing import Any

import pytest

ALICE = "alice@example.com"


def _error(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"])


@pytest.fixture
def tenant(api: Any) -> str:
    created = api.call(
        "POST",
        "/tenants",
        json={"name": "payments", "display_name": "P", "environments": ["dev", "prod"], "repositories": []},
    )
    assert created.status_code == 201, created.text
    return "payments"


def test_a_body_that_is_not_json_is_415(api: Any) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = api.call("POST", "/tenants", data="name=x", headers=form)
    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"
    assert api.call("POST", "/tenants", data='{"name": "x"}', headers={"Content-Type": "text/plain"}).status_code == 415


def test_bytes_that_are_not_utf8_are_400(api: Any) -> None:
    response = api.client().raw(
        "POST", "/tenants", data=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and _error(response)["code"] == "invalid_encoding"


def test_broken_json_is_400(api: Any) -> None:
    response = api.call("POST", "/tenants", data='{"name": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and _error(response)["code"] == "invalid_json"


@pytest.mark.parametrize(
    "body",
    ["[" * 10_000 + "]" * 10_000, '{"name": ' + "9" * 5_000 + "}", '{"a": ' * 40 + "1" + "}" * 40],
    ids=["nested-10000", "5000-digit-integer", "nested-40"],
)
def test_bodies_beyond_the_documented_limits_are_422(api: Any, body: str) -> None:
    response = api.call("POST", "/tenants", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and _error(response)["code"] == "body_too_complex", response.text


def test_a_body_over_the_size_limit_is_413(api: Any) -> None:
    body = json.dumps({"name": "x", "display_name": "y" * 70_000})
    response = api.call("POST", "/tenants", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/tenants", {"name": "x", "display_name": "nul\x00here"}, "display_name"),
        ("/tenants", {"name": "x", "display_name": "k", "repositories": ["https://a.io/a\x00"]}, "repositories.0"),
    ],
)
def test_nul_in_a_body_field_is_422_naming_it(api: Any, path: str, body: dict[str, Any], field: str) -> None:
    response = api.call("POST", path, json=body)
    assert response.status_code == 422, response.text
    assert _error(response)["details"][0]["field"] == field


def test_control_characters_in_path_and_query_parameters_are_422(api: Any, tenant: str) -> None:
    for path, field in (("/tenants/x%0A", "path.tenant"), ("/tenants/pay%00ments", "path.tenant")):
        response = api.call("GET", path)
        assert response.status_code == 422 and _error(response)["details"][0]["field"] == field, response.text
    response = api.call("GET", "/audit?tenant=payments&actor=a%00b")
    assert response.status_code == 422 and _error(response)["details"][0]["field"] == "query.actor"


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/tenants", {"name": "x\n", "display_name": "X"}, "name"),
        ("/tenants", {"name": "x", "display_name": "X", "environments": ["dev\n"]}, "environments.0"),
        ("/tenants/payments/apps", {"name": "nl\n", "repo_url": "https://github.com/a/b"}, "name"),
        ("/tenants/payments/apps/web/deployments", {"environment": "dev", "revision": "v1\n"}, "revision"),
        ("/tenants/payments/apps/web/deployments", {"environment": "dev\n"}, "environment"),
        ("/tenants/payments/apps/web/deployments", {"environment": "dev", "slack_channel": "C0ABC\n"}, "slack_channel"),
        ("/tenants/payments/service-accounts", {"name": "n\n", "role": "viewer"}, "name"),
    ],
)
def test_a_trailing_newline_is_never_part_of_a_name(
    api: Any, tenant: str, route: str, body: dict[str, Any], field: str
) -> None:
    response = api.call("POST", route, json=body)
    assert response.status_code == 422, response.text
    assert _error(response)["details"][0]["field"] == field, response.text


def test_path_parameters_are_decoded_once_for_the_gate_and_the_handler(api: Any, tenant: str) -> None:
    member = "plus+x@example.com"
    assert api.call("POST", "/tenants/payments/members", json={"user": member, "role": "viewer"}).status_code == 201
    removed = api.call("DELETE", "/tenants/payments/members/plus%2Bx@example.com")
    assert removed.status_code == 200, removed.text
    assert [m["user"] for m in api.call("GET", "/tenants/payments/members").json()] == [ALICE]
