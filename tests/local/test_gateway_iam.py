"""The local gateway's AWS_IAM routes: SigV4 verified with botocore the way API Gateway verifies it,
over real HTTP, and the caller API Gateway authenticated handed to the function."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.auth
import pytest
import requests
from botocore.credentials import Credentials

from idp.clients.sigv4 import SigV4Auth
from idp_local.gateway import IamCredential, LocalGateway
from idp_local.gateway_iam import role_session_arn

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo
      Handler: app.handler
      Runtime: python3.12
      Events:
        Signed:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /signed
            Method: post
            Auth: {Authorizer: AWS_IAM, InvokeRole: NONE}
        Open:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /open, Method: get}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      GatewayResponses:
        DEFAULT_4XX:
          ResponseTemplates:
            application/json: '{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}'
"""

ECHO = """\
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""

ROLE = "arn:aws:iam::123456789012:role/local-chatops"
SESSION = role_session_arn(ROLE, "chatops")
KEY, SECRET = "AKIACHATOPS", "chatops-secret"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGateway]:
    root = tmp_path_factory.mktemp("iam")
    (root / "echo").mkdir()
    (root / "echo" / "app.py").write_text(ECHO)
    (root / "template.yaml").write_text(TEMPLATE)
    credentials = {KEY: IamCredential(SECRET, SESSION), "AKIATOKEN": IamCredential("s2", SESSION, "session-token")}
    with LocalGateway(Path(root / "template.yaml"), throttle=None, iam_credentials=credentials) as gw:
        yield gw


def _signed(key: str = KEY, secret: str = SECRET, token: str | None = None) -> SigV4Auth:
    return SigV4Auth(region="us-east-1", credentials=Credentials(key, secret, token))


def _post(gateway: LocalGateway, path: str = "/signed", **kwargs: Any) -> requests.Response:
    return requests.post(gateway.url + path, timeout=10, **kwargs)


ERROR_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNRECOGNIZED_CLIENT": "UnrecognizedClientException",
    "INVALID_SIGNATURE": "InvalidSignatureException",
}


def _refused(response: requests.Response, code: str, message: str, error_type: str | None = None) -> None:
    """API Gateway's own 403: the response type, the start of its message, x-amzn-ErrorType."""
    error_type = error_type or ERROR_TYPES[code]
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"].startswith(message), response.text
    assert response.headers["x-amzn-ErrorType"] == error_type


def test_a_signed_request_reaches_the_function_with_its_iam_identity(gateway: LocalGateway) -> None:
    response = _post(gateway, "/signed?b=2&a=1", json={"hello": "world"}, auth=_signed())
    assert response.status_code == 200, response.text
    event = response.json()
    identity = event["requestContext"]["identity"]
    assert identity["userArn"] == "arn:aws:sts::123456789012:assumed-role/local-chatops/chatops"
    assert identity["accessKey"] == KEY and identity["accountId"] == "123456789012"
    assert identity["caller"].startswith("AROA") and identity["caller"].endswith(":chatops")
    assert json.loads(event["body"]) == {"hello": "world"}
    assert "authorizer" not in event["requestContext"]  # no Lambda authorizer ran


def test_a_session_token_is_part_of_the_credential(gateway: LocalGateway) -> None:
    assert _post(gateway, json={}, auth=_signed("AKIATOKEN", "s2", "session-token")).status_code == 200
    refused = _post(gateway, json={}, auth=_signed("AKIATOKEN", "s2", "another-token"))
    _refused(refused, "UNRECOGNIZED_CLIENT", "The security token included")


def test_an_unsigned_request_is_missing_its_token(gateway: LocalGateway) -> None:
    _refused(_post(gateway, json={}), "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")


def test_a_bearer_token_is_not_a_signature(gateway: LocalGateway) -> None:
    response = _post(gateway, json={}, headers={"Authorization": "Bearer eyJhbGciOi.x.y"})
    incomplete = "Invalid key=value pair (missing equal-sign)"
    _refused(response, "INVALID_SIGNATURE", incomplete, "IncompleteSignatureException")


def test_an_unknown_access_key_is_unrecognized(gateway: LocalGateway) -> None:
    response = _post(gateway, json={}, auth=_signed("AKIASTRANGER", "whatever"))
    _refused(response, "UNRECOGNIZED_CLIENT", "The security token included in the request is invalid.")


def test_a_wrong_secret_a_tampered_signature_or_body_do_not_match(gateway: LocalGateway) -> None:
    mismatch = "The request signature we calculated does not match the signature you provided."
    _refused(_post(gateway, json={}, auth=_signed(secret="guess")), "INVALID_SIGNATURE", mismatch)

    prepared = requests.Request("POST", gateway.url + "/signed", json={"amount": 1}, auth=_signed()).prepare()
    header = str(prepared.headers["Authorization"])
    flipped = header[:-1] + ("0" if header[-1] != "0" else "1")
    with requests.Session() as session:
        prepared.headers["Authorization"] = flipped
        _refused(session.send(prepared, timeout=10), "INVALID_SIGNATURE", mismatch)
        prepared.headers["Authorization"] = header
        prepared.body = b'{"amount": 1000}'  # the same length: only the signature notices
        _refused(session.send(prepared, timeout=10), "INVALID_SIGNATURE", mismatch)


def test_a_timestamp_more_than_five_minutes_off_is_refused(
    gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now - datetime.timedelta(minutes=6))
    _refused(_post(gateway, json={}, auth=_signed()), "INVALID_SIGNATURE", "Signature expired:")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now + datetime.timedelta(minutes=6))
    _refused(_post(gateway, json={}, auth=_signed()), "INVALID_SIGNATURE", "Signature not yet current:")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now - datetime.timedelta(minutes=4))
    assert _post(gateway, json={}, auth=_signed()).status_code == 200


def test_a_signature_for_another_region_or_service_is_refused(gateway: LocalGateway) -> None:
    other_region = SigV4Auth(region="eu-west-1", credentials=Credentials(KEY, SECRET))
    response = _post(gateway, json={}, auth=other_region)
    _refused(response, "INVALID_SIGNATURE", "Credential should be scoped to a valid region")
    other_service = SigV4Auth(region="us-east-1", service="lambda", credentials=Credentials(KEY, SECRET))
    response = _post(gateway, json={}, auth=other_service)
    _refused(response, "INVALID_SIGNATURE", "Credential should be scoped to correct service")


def test_routes_without_aws_iam_never_see_an_iam_identity(gateway: LocalGateway) -> None:
    response = requests.get(gateway.url + "/open", auth=_signed(), timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["requestContext"]["identity"]["userArn"] is None
