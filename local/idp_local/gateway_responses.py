"""API Gateway's answers: its own (gateway responses) and the functions' (proxy results).

A gateway response is chosen by type (ACCESS_DENIED, THROTTLED, ...), falling back to
DEFAULT_4XX / DEFAULT_5XX, then to API Gateway's built-in `{"message": ...}`. Its body
template gets `$context.*` values substituted, JSON-escaped, as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from idp_local.gateway_events import API_ID, raw_path
from idp_local.template import ACCOUNT_ID, GatewayResponseSpec

__all__ = ["GatewayError", "gateway_response", "proxy_response"]

log = logging.getLogger("idp_local.gateway")

_BUILT_IN_TEMPLATE = '{"message":$context.error.messageString}'
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
_ERROR_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNAUTHORIZED": "UnauthorizedException",
    "ACCESS_DENIED": "AccessDeniedException",
    "AUTHORIZER_FAILURE": "AuthorizerConfigurationException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "THROTTLED": "TooManyRequestsException",
    "INVALID_SIGNATURE": "InvalidSignatureException",
    # Not a gateway response one can customise: its answer falls back to DEFAULT_4XX.
    "UNRECOGNIZED_CLIENT": "UnrecognizedClientException",
}


@dataclass
class GatewayError(Exception):
    """API Gateway answers by itself: a gateway response type, its default status and message."""

    response_type: str
    status: int
    message: str | None
    authorizer: Mapping[str, Any] = field(default_factory=dict)  # for $context.authorizer.*
    error_type: str | None = None  # x-amzn-ErrorType, when not the response type's usual one

    def __str__(self) -> str:
        return f"{self.response_type} {self.status}: {self.message}"


def _stringify(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _json_escape(text: str) -> str:
    return json.dumps(text)[1:-1]


def _header_value(expression: str, request: Request) -> str | None:
    """A response header mapping: a 'static' value or method.request.header|querystring.<name>."""
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    for prefix, source in (("method.request.header.", request.headers), ("method.request.querystring.", request.args)):
        if expression.startswith(prefix):
            value = source.get(expression[len(prefix) :])
            return str(value) if value is not None else None
    return None


def gateway_response(
    responses: Mapping[str, GatewayResponseSpec],
    error: GatewayError,
    *,
    request: Request,
    request_id: str,
    stage: str,
) -> Response:
    fallback = "DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX"
    spec = responses.get(error.response_type) or responses.get(fallback)
    status = spec.status_code if spec and spec.status_code else error.status
    content_type, template = "application/json", _BUILT_IN_TEMPLATE
    if spec and spec.templates:
        content_type = "application/json" if "application/json" in spec.templates else next(iter(spec.templates))
        template = spec.templates[content_type]
    variables = {
        "error.messageString": json.dumps(error.message),
        "error.message": _json_escape(error.message or ""),
        "error.responseType": error.response_type,
        "requestId": request_id,
        "stage": stage,
        "apiId": API_ID,
        "accountId": ACCOUNT_ID,
        "httpMethod": request.method,
        "path": _json_escape(raw_path(request)),  # the whole path, stage included: /v1/tenants
    }
    variables.update({f"authorizer.{k}": _json_escape(_stringify(v)) for k, v in error.authorizer.items()})
    # An unknown variable becomes empty, as in API Gateway.
    body = _CONTEXT_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), template)
    headers = Headers({"Content-Type": content_type, "x-amzn-RequestId": request_id})
    error_type = error.error_type or _ERROR_TYPES.get(error.response_type)
    if error_type:
        headers["x-amzn-ErrorType"] = error_type
    for name, expression in (spec.headers if spec else {}).items():
        value = _header_value(expression, request)
        if value is not None:
            headers[name] = value
    return Response(body, status=status, headers=headers)


def _malformed(reason: str) -> GatewayError:
    log.error("Execution failed due to configuration error: Malformed Lambda proxy response (%s)", reason)
    return GatewayError("DEFAULT_5XX", 502, "Internal server error")


def proxy_response(result: Any, *, request_id: str) -> Response:
    """A Lambda proxy result as the HTTP answer; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise _malformed(f"no integer statusCode in {result!r:.200}")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise _malformed(f"body is {type(body).__name__}, not a string")
    data = (body or "").encode()
    if result.get("isBase64Encoded") and body:
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise _malformed("isBase64Encoded but the body is not base64") from None
    # Both maps: a name in multiValueHeaders takes its values from there only.
    multi = {str(k).lower(): (str(k), v) for k, v in (result.get("multiValueHeaders") or {}).items()}
    headers = Headers()
    for key, value in (result.get("headers") or {}).items():
        if str(key).lower() not in multi:
            headers.add(str(key), str(value))
    for key, values in multi.values():
        for value in values if isinstance(values, list) else [values]:
            headers.add(key, str(value))
    if "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"  # REST APIs' default
    headers["x-amzn-RequestId"] = request_id
    return Response(data, status=result["statusCode"], headers=headers)
