"""The API's published contract: the committed OpenAPI document is what `make openapi` makes now, it
has exactly template.yaml's routes with the errors the access table and the request screen imply, it
is served at GET /openapi.json to anyone, and an unknown route is a 404 that helps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idp.api.gate import ROUTE_POLICIES
from idp_local.openapi import DOCUMENT, ROOT, build_document, render
from idp_local.template import load_template

ROUTES = {(r.method, r.path): r for r in load_template(ROOT / "template.yaml").api().routes}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), path): op for path, item in document["paths"].items() for m, op in item.items()}


def test_the_committed_document_is_current(document: dict[str, Any]) -> None:
    committed = DOCUMENT.read_text(encoding="utf-8")
    assert json.loads(committed) == document, "layers/shared/idp/api/openapi.json is stale: run `make openapi`"
    assert committed == render(document), "run `make openapi` (the document's formatting changed)"


def test_it_has_exactly_the_template_routes(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert set(_operations(document)) == set(ROUTES)
    assert document["servers"][0]["url"] == "/v1"
    ids = [op["operationId"] for op in _operations(document).values()]
    assert len(ids) == len(set(ids))


def test_errors_and_security_follow_the_access_table(document: dict[str, Any]) -> None:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for key, op in _operations(document).items():
        route, policy, statuses = ROUTES[key], ROUTE_POLICIES[key], set(op["responses"])
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == error, (key, status)
        assert "429" in statuses, key
        if route.iam:
            assert op["security"] == [{"sigv4": []}] and {"403", "404"} <= statuses, key
            assert "401" not in statuses, key
        elif policy.public:
            assert op["security"] == [] and "403" not in statuses, key
        else:
            assert op["security"] == [{"bearer": []}] and "401" in statuses, key
            if policy.action is not None:
                assert {"403", "404"} <= statuses, key
            if policy.users_only:
                assert "403" in statuses, key
        if key == ("POST", "/slack/events"):  # Chalice and Bolt's, not behind the request screen
            continue
        assert "422" in statuses, key
        if "requestBody" in op:
            assert {"400", "413", "415"} <= statuses, key
        else:
            assert not {"400", "413", "415"} & statuses, key
    public = {key for key, op in _operations(document).items() if op["security"] == []}
    assert public == {key for key, policy in ROUTE_POLICIES.items() if policy.public}
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_routes_declare_what_only_they_answer(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert set(operations[("POST", "/tenants")]["responses"]) >= {"200", "201", "409", "502"}
    assert set(operations[("POST", "/tenants/{tenant}/apps/{app}/deployments")]["responses"]) >= {"200", "202"}
    assert "409" in operations[("POST", "/tenants/{tenant}/apps/{app}/rollback")]["responses"]
    assert "429" in operations[("POST", "/auth/slack/links")]["responses"]
    token = operations[("POST", "/auth/token")]
    assert {"401", "502"} <= set(token["responses"]) and "requestBody" in token


def test_the_document_is_served_to_anyone(api: Any) -> None:
    for user in (None, "alice@example.com"):
        response = api.call("GET", "/openapi.json", user=user)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def test_an_unknown_route_is_a_404_that_names_the_stage(api: Any) -> None:
    for method, path in (("GET", "/nowhere"), ("GET", "/health"), ("PUT", "/tenants"), ("GET", "/tenants/a/b/c/d")):
        response = api.call(method, path)  # a valid token: the answer is not "you are not signed in"
        assert response.status_code == 404, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "route_not_found" and error["details"] is None
        assert f"no route for {method} /v1{path}" in error["message"] and "under /v1/" in error["message"]
    # Without the stage (/tenants for /v1/tenants): the message says where the routes are.
    no_stage = api.base_url.rsplit("/", 1)[0] + "/tenants"
    response = api.session.get(no_stage, headers={"Authorization": f"Bearer {api.token('alice@example.com')}"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "route_not_found"
    assert "no route for GET /tenants: every route is under /v1/" in response.json()["error"]["message"]
