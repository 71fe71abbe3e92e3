"""Requests as API Gateway (REST) hands them to Lambda: proxy and authorizer events.

REST APIs keep the path as the client sent it (percent-encoded) while path and query
parameters arrive decoded; single-value maps keep the last of repeated keys; empty maps
are None; a body that is not UTF-8 arrives base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

from werkzeug.wrappers import Request

from idp_local.template import ACCOUNT_ID, REGION

__all__ = ["API_ID", "api_path", "authorizer_event", "method_arn", "proxy_event", "raw_path"]

API_ID = "local"


def raw_path(request: Request) -> str:
    """The path as the client sent it (percent-encoding kept, as REST APIs keep it)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = str(raw).split("?", 1)[0]
        return path if path.startswith("/") else "/" + path.split("/", 3)[-1]  # absolute-form URI
    return quote(request.path, safe="/%:@!$&'()*+,;=-._~")


def api_path(request: Request, stage: str) -> str:
    """The raw path below the stage: /v1/tenants/a -> /tenants/a."""
    full = raw_path(request)
    prefix = f"/{stage}"
    if full == prefix or full.startswith(prefix + "/"):
        return full[len(prefix) :] or "/"
    return full


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway keeps the last value
        multi.setdefault(key, []).append(value)
    return (single or None), (multi or None)


def proxy_event(
    request: Request,
    *,
    resource: str,
    stage: str,
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    request_time: float | None = None,
    identity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Lambda proxy event API Gateway (REST) sends for this request.

    The request's path starts with /{stage}; `resource` is the template path
    (/tenants/{tenant}); `path_parameters` are already URL-decoded; `identity` is the IAM
    caller of an AWS_IAM route (userArn, caller, accessKey, ...).
    """
    path = api_path(request, stage)
    now = time.time() if request_time is None else request_time
    headers, multi_headers = _multi(list(request.headers.items()))
    query = request.environ.get("QUERY_STRING", "")
    query_pairs = parse_qsl(str(query), keep_blank_values=True)
    query_single, query_multi = _multi(query_pairs)
    data = request.get_data(cache=True)
    body: str | None
    encoded = False
    if not data:
        body = None
    else:
        try:
            body = data.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(data).decode("ascii"), True
    request_id = request_id or str(uuid.uuid4())
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": hashlib.sha1(resource.encode()).hexdigest()[:6],
        "resourcePath": resource,
        "httpMethod": request.method,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "path": f"/{stage}{path}",
        "protocol": str(request.environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
        "stage": stage,
        "domainPrefix": API_ID,
        "domainName": request.host or "localhost",
        "requestTimeEpoch": int(now * 1000),
        "requestId": request_id,
        "identity": {
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": request.headers.get("User-Agent"),
            "accountId": None,
            "caller": None,
            "user": None,
            "userArn": None,
            "accessKey": None,
            "cognitoIdentityPoolId": None,
            "cognitoIdentityId": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
        },
    }
    if identity is not None:
        context["identity"].update(identity)
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query_single,
        "multiValueQueryStringParameters": query_multi,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def method_arn(stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{stage}/{method}{path}"


def authorizer_event(proxy: Mapping[str, Any], *, payload_type: str, arn: str, token: str = "") -> dict[str, Any]:
    """The event a Lambda authorizer gets: TOKEN carries the identity header's value,
    REQUEST the request (headers, query, path parameters, context) without its body."""
    if payload_type == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
    skipped = ("body", "isBase64Encoded")
    return {"type": "REQUEST", "methodArn": arn, **{k: v for k, v in proxy.items() if k not in skipped}}
