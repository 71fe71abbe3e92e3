"""The local API Gateway against a tiny template: routing, events, the Lambda authorizer
(identity check, policy, cache), throttling and API Gateway's own answers."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests

from idp_local.gateway import LocalGateway, match_policy
from idp_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: test}
  Rate: {Type: Number, Default: 1}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    MemorySize: 256
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo
      Handler: app.handler
      Events:
        GetItem: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/items/{item}", Method: get}}
        CreateItem: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items, Method: post}}
        Special: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items/special, Method: get}}
        Files: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/files/{path+}", Method: any}}
        Boom: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /boom, Method: get}}
        Binary: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /binary, Method: get}}
        Public:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /public, Method: get, Auth: {Authorizer: NONE}}
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: auth
      Handler: app.handler
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: Gate
        Authorizers:
          Gate:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt AuthFunction.Arn
            Identity: {Headers: [Authorization], ReauthorizeEvery: 60}
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: !Ref Rate, ThrottlingBurstLimit: 2}
      GatewayResponses:
        ACCESS_DENIED:
          StatusCode: "401"
          ResponseTemplates:
            application/json: >-
              {"error":{"code":"$context.authorizer.error_code",
              "message":"$context.authorizer.message","details":null}}
        UNAUTHORIZED:
          StatusCode: "401"
          ResponseTemplates:
            application/json: '{"error":{"code":"unauthenticated","message":"no token","details":null}}'
        THROTTLED:
          StatusCode: "429"
          ResponseParameters:
            Headers: {Retry-After: "'1'"}
          ResponseTemplates:
            application/json: '{"error":{"code":"rate_limited","message":"too many requests","details":null}}'
"""

DEFAULT_4XX = """\
        DEFAULT_4XX:
          ResponseTemplates:
            application/json: '{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}'
"""

ECHO = """\
import base64
import json


def handler(event, context):
    if event["path"] == "/boom":
        raise RuntimeError("boom")
    if event["path"] == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG\\xff").decode(), "isBase64Encoded": True}
    lambda_context = {
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "aws_request_id": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
    }
    return {
        "statusCode": 201 if event["httpMethod"] == "POST" else 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"event": event, "context": lambda_context}),
    }
"""

AUTHORIZER = """\
CALLS = []


def _policy(principal, effect, resource, context):
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def handler(event, context):
    CALLS.append(event)
    token = event["headers"]["Authorization"].removeprefix("Bearer ")
    whole_api = event["methodArn"].split("/")[0] + "/*/*"
    if token == "good":
        return _policy("u1", "Allow", whole_api, {"user_id": "u1", "admin": True, "level": 3})
    if token == "narrow":  # only GET on /items/*
        return _policy("u2", "Allow", event["methodArn"].split("/")[0] + "/*/GET/items/*", {"user_id": "u2"})
    if token == "raise":
        raise Exception("Unauthorized")
    if token == "crash":
        raise ValueError("bug in the authorizer")
    return _policy("anonymous", "Deny", whole_api, {"error_code": "invalid_token", "message": 'token "expired"'})
"""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "app.py").write_text(ECHO)
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "app.py").write_text(AUTHORIZER)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway(template_path: Path, clock: FakeClock) -> LocalGateway:
    return LocalGateway(template_path, throttle=None, clock=clock)


def authorizer_calls(gateway: LocalGateway) -> list[dict[str, Any]]:
    module = gateway.functions["AuthFunction"].module
    calls: list[dict[str, Any]] = module.CALLS if module else []
    return calls


def echo(gateway: LocalGateway, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    headers = {"Authorization": "Bearer good", **kwargs.pop("headers", {})}
    status, _, body = gateway.invoke(method, path, headers=headers, **kwargs)
    assert status in (200, 201), body
    result: dict[str, Any] = json.loads(body)
    return result


def test_event_carries_path_parameters_query_and_authorizer_context(gateway: LocalGateway) -> None:
    reply = echo(gateway, "GET", "/items/a%20b", query={"x": ["1", "2"], "y": "z"}, headers={"X-Trace": "t"})
    event = reply["event"]

    assert event["resource"] == "/items/{item}"
    assert event["path"] == "/items/a%20b"  # REST APIs keep the client's encoding in path
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"item": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": "z"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["z"]}
    assert event["headers"]["X-Trace"] == "t"
    assert event["multiValueHeaders"]["X-Trace"] == ["t"]
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["accountId"] == "123456789012"
    assert ctx["apiId"] == "local"
    assert ctx["stage"] == "test"
    assert ctx["path"] == "/test/items/a%20b"
    assert ctx["resourcePath"] == "/items/{item}"
    assert ctx["httpMethod"] == "GET"
    assert ctx["requestId"]
    assert isinstance(ctx["requestTimeEpoch"], int)
    assert ctx["identity"]["sourceIp"]
    authorizer = ctx["authorizer"]
    assert authorizer["principalId"] == "u1"
    assert {k: authorizer[k] for k in ("user_id", "admin", "level")} == {"user_id": "u1", "admin": "true", "level": "3"}
    assert isinstance(authorizer["integrationLatency"], int)

    lambda_context = reply["context"]
    assert lambda_context["function_name"] == "EchoFunction"
    assert lambda_context["memory_limit_in_mb"] == 256
    assert lambda_context["invoked_function_arn"].endswith(":function:EchoFunction")
    assert 0 < lambda_context["remaining"] <= 10_000
    assert lambda_context["aws_request_id"] not in ("", ctx["requestId"])  # Lambda's own id


def test_empty_query_and_most_specific_route(gateway: LocalGateway) -> None:
    event = echo(gateway, "GET", "/items/special")["event"]
    assert event["resource"] == "/items/special"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_greedy_path_and_any_method(gateway: LocalGateway) -> None:
    event = echo(gateway, "DELETE", "/files/a/b%2Fc.txt")["event"]
    assert event["resource"] == "/files/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c.txt"}


def test_authorizer_gets_a_request_event(gateway: LocalGateway) -> None:
    echo(gateway, "GET", "/items/x", query={"q": "1"})
    (event,) = authorizer_calls(gateway)
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/test/GET/items/x"
    assert event["resource"] == "/items/{item}"
    assert event["path"] == "/items/x"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["Authorization"] == "Bearer good"
    assert event["queryStringParameters"] == {"q": "1"}
    assert event["pathParameters"] == {"item": "x"}
    assert event["requestContext"]["stage"] == "test"
    assert "body" not in event


def test_missing_identity_header_is_401_without_invoking_the_authorizer(gateway: LocalGateway) -> None:
    status, headers, body = gateway.invoke("GET", "/items/x")
    assert status == 401
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": {"code": "unauthenticated", "message": "no token", "details": None}}
    assert gateway.functions["AuthFunction"].module is None  # never even loaded


def test_deny_is_the_access_denied_response_with_the_context_substituted(gateway: LocalGateway) -> None:
    status, headers, body = gateway.invoke("GET", "/items/x", headers={"Authorization": "Bearer expired"})
    assert status == 401
    assert headers["x-amzn-ErrorType"] == "AccessDeniedException"
    # The quotes in the message are JSON-escaped, so the body still parses.
    assert json.loads(body) == {"error": {"code": "invalid_token", "message": 'token "expired"', "details": None}}


def test_allow_for_other_resources_only_is_denied(gateway: LocalGateway) -> None:
    ok = gateway.invoke("GET", "/items/x", headers={"Authorization": "Bearer narrow"})
    denied = gateway.invoke("POST", "/items", headers={"Authorization": "Bearer narrow"}, body="{}")
    assert ok[0] == 200
    assert denied[0] == 401  # ACCESS_DENIED, from the cached policy evaluated against POST /items
    assert len(authorizer_calls(gateway)) == 1


def test_unauthorized_exception_and_authorizer_failure(gateway: LocalGateway) -> None:
    status, _, body = gateway.invoke("GET", "/items/x", headers={"Authorization": "Bearer raise"})
    assert (status, json.loads(body)["error"]["code"]) == (401, "unauthenticated")
    status, headers, body = gateway.invoke("GET", "/items/x", headers={"Authorization": "Bearer crash"})
    assert (status, json.loads(body)) == (500, {"message": None})
    assert headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"


def test_authorizer_results_are_cached_per_identity_for_reauthorize_every(
    gateway: LocalGateway, clock: FakeClock
) -> None:
    echo(gateway, "GET", "/items/a")
    echo(gateway, "POST", "/items", body="{}")
    assert len(authorizer_calls(gateway)) == 1

    gateway.invoke("GET", "/items/a", headers={"Authorization": "Bearer expired"})  # another identity
    assert len(authorizer_calls(gateway)) == 2

    clock.now += 61
    echo(gateway, "GET", "/items/a")
    assert len(authorizer_calls(gateway)) == 3


def test_public_route_skips_the_authorizer(gateway: LocalGateway) -> None:
    status, _, body = gateway.invoke("GET", "/public")
    assert status == 200
    assert "authorizer" not in json.loads(body)["event"]["requestContext"]


def test_each_function_file_is_its_own_module(gateway: LocalGateway) -> None:
    echo(gateway, "GET", "/items/x")  # loads both app.py files, the authorizer's and the echo's
    echo_module, auth_module = (gateway.functions[name].module for name in ("EchoFunction", "AuthFunction"))
    assert echo_module is not None and auth_module is not None
    assert echo_module.__name__ != auth_module.__name__
    assert echo_module.__file__ != auth_module.__file__


def test_throttling_from_method_settings(template_path: Path, clock: FakeClock) -> None:
    gateway = LocalGateway(template_path, clock=clock)  # rate 1/s, burst 2
    statuses = [gateway.invoke("GET", "/public")[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    status, headers, body = gateway.invoke("GET", "/public")
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert json.loads(body)["error"]["code"] == "rate_limited"
    clock.now += 1
    assert gateway.invoke("GET", "/public")[0] == 200


def test_each_method_has_its_own_bucket(template_path: Path, clock: FakeClock) -> None:
    # API Gateway applies the stage's "/*" "*" setting (rate 1/s, burst 2) to each method.
    gateway = LocalGateway(template_path, clock=clock)
    signed = {"Authorization": "Bearer good"}
    assert [gateway.invoke("GET", "/public")[0] for _ in range(3)] == [200, 200, 429]
    assert [gateway.invoke("POST", "/items", headers=signed)[0] for _ in range(3)] == [201, 201, 429]
    assert [gateway.invoke("GET", "/items/a", headers=signed)[0] for _ in range(3)] == [200, 200, 429]
    # One method of one resource is one bucket, whatever the path parameters.
    assert gateway.invoke("GET", "/items/b", headers=signed)[0] == 429
    assert gateway.invoke("GET", "/items/special", headers=signed)[0] == 200  # another resource


def test_a_method_setting_naming_a_method_overrides_the_stage_one(template_path: Path, clock: FakeClock) -> None:
    stage_setting = '{ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: !Ref Rate, ThrottlingBurstLimit: 2}'
    own_setting = '{ResourcePath: "/~1items~1{item}", HttpMethod: GET, ThrottlingRateLimit: 1, ThrottlingBurstLimit: 4}'
    template_path.write_text(TEMPLATE.replace(stage_setting, f"{stage_setting}\n        - {own_setting}"))
    gateway = LocalGateway(template_path, clock=clock)
    assert gateway.api.throttling[("/items/{item}", "GET")] == (1.0, 4.0)
    signed = {"Authorization": "Bearer good"}
    assert [gateway.invoke("GET", "/items/a", headers=signed)[0] for _ in range(5)] == [200] * 4 + [429]
    assert [gateway.invoke("POST", "/items", headers=signed)[0] for _ in range(3)] == [201, 201, 429]


def test_throttle_override_and_parameters(template_path: Path, clock: FakeClock) -> None:
    tight = LocalGateway(template_path, throttle=(0.0, 1.0), clock=clock)
    assert [tight.invoke("GET", "/public")[0] for _ in range(2)] == [200, 429]
    loose = LocalGateway(template_path, parameters={"Rate": 1000}, clock=clock)
    assert loose.api.throttling[("/*", "*")] == (1000.0, 2.0)
    unthrottled = LocalGateway(template_path, throttle=None, clock=clock)
    assert {unthrottled.invoke("GET", "/public")[0] for _ in range(5)} == {200}


def test_unknown_route_or_method_is_missing_authentication_token(gateway: LocalGateway) -> None:
    for method, path in (("GET", "/nowhere"), ("PUT", "/items/x"), ("GET", "/items/x/y")):
        status, headers, body = gateway.invoke(method, path)
        assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"}), (method, path)
        assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_unknown_route_uses_default_4xx_when_defined(template_path: Path) -> None:
    template_path.write_text(TEMPLATE + DEFAULT_4XX)
    status, _, body = LocalGateway(template_path, throttle=None).invoke("GET", "/nowhere")
    assert status == 403
    assert json.loads(body) == {
        "error": {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}
    }


def test_unknown_route_answers_a_missing_authentication_token_response_with_its_status(template_path: Path) -> None:
    # What template.yaml does: an unknown route (or a path without the stage) is a 404 that says where routes are.
    not_found = """\
        MISSING_AUTHENTICATION_TOKEN:
          StatusCode: "404"
          ResponseTemplates:
            application/json: '{"message":"no route for $context.httpMethod $context.path under /$context.stage/"}'
"""
    template_path.write_text(TEMPLATE + DEFAULT_4XX + not_found)
    gateway = LocalGateway(template_path, throttle=None)
    status, _, body = gateway.invoke("GET", "/nowhere", headers={"Authorization": "Bearer good"})
    assert (status, json.loads(body)) == (404, {"message": "no route for GET /test/nowhere under /test/"})
    with gateway:
        response = requests.delete(gateway.url.rsplit("/", 1)[0] + "/items/x", timeout=10)
    assert (response.status_code, response.json()) == (404, {"message": "no route for DELETE /items/x under /test/"})


def test_handler_exception_is_502(gateway: LocalGateway, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="idp_local"):
        status, _, body = gateway.invoke("GET", "/boom", headers={"Authorization": "Bearer good"})
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    assert "RuntimeError: boom" in caplog.text


def test_binary_request_and_response_bodies(gateway: LocalGateway) -> None:
    raw = b"\xff\xfe\x00binary"
    event = echo(gateway, "POST", "/items", body=raw)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw

    event = echo(gateway, "POST", "/items", body='{"name": "ü"}')["event"]
    assert (event["isBase64Encoded"], event["body"]) == (False, '{"name": "ü"}')

    status, headers, body = gateway.invoke("GET", "/binary", headers={"Authorization": "Bearer good"})
    assert (status, headers["Content-Type"], body) == (200, "image/png", b"\x89PNG\xff")


def test_over_http(gateway: LocalGateway) -> None:
    with gateway:
        assert gateway.url.endswith("/test")
        response = requests.get(f"{gateway.url}/items/x?y=1", headers={"Authorization": "Bearer good"}, timeout=10)
        assert response.status_code == 200
        assert response.headers["X-Single"] == "one"
        assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
        event = response.json()["event"]
        assert event["pathParameters"] == {"item": "x"}
        assert event["queryStringParameters"] == {"y": "1"}
        assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"

        assert requests.get(f"{gateway.url}/items/x", timeout=10).status_code == 401
        no_stage = gateway.url.rsplit("/", 1)[0] + "/items/x"
        assert requests.get(no_stage, timeout=10).status_code == 403


def test_policy_matching() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:local/v1/GET/tenants/a"
    allow = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:*:local/v1/*/*"}]}
    assert match_policy(allow, arn) == "Allow"
    deny = {"Statement": [*allow["Statement"], {"Effect": "Deny", "Action": "*", "Resource": [arn]}]}
    assert match_policy(deny, arn) == "Deny"
    other = {"Statement": {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:*:local/v2/*"}}
    assert match_policy(other, arn) is None


def test_the_real_template_is_discovered() -> None:
    model = load_template(ROOT / "template.yaml")
    api = model.api()
    assert api.stage == "v1"
    # Which routes exist is the access table's business (tests/idp/auth/test_route_access.py);
    # here: the tenant routes are found, served by the right function, behind the authorizer.
    routes = {(r.method, r.path): r for r in api.routes}
    for method, path in [
        ("POST", "/tenants"),
        ("GET", "/tenants/{tenant}"),
        ("DELETE", "/tenants/{tenant}/members/{user}"),
    ]:
        assert routes[(method, path)].function == "TenantFunction"
        assert routes[(method, path)].authorizer == "PlatformAuthorizer"
    assert routes[("POST", "/auth/token")].authorizer is None
    assert routes[("GET", "/auth/me")].function == "AuthFunction"
    authorizer = api.authorizers["PlatformAuthorizer"]
    assert (authorizer.function, authorizer.payload_type) == ("AuthorizerFunction", "REQUEST")
    assert (authorizer.headers, authorizer.reauthorize_every) == (("Authorization",), 60)
    assert api.throttling[("/*", "*")] == (50.0, 100.0)
    assert api.gateway_responses["ACCESS_DENIED"].status_code == 401
    for name in ("TenantFunction", "AuthorizerFunction"):
        assert model.functions[name].handler_file.is_file()
    # The gateway builds on it without importing any handler.
    assert LocalGateway(ROOT / "template.yaml").api.stage == "v1"
