"""The API Gateway REQUEST authorizer's logic.

A valid token yields an Allow policy for the whole API plus a context (strings only)
that the functions read as the caller. An invalid one yields a Deny whose context
carries the reason; the template's ACCESS_DENIED gateway response turns it into a 401
`{"error": {...}}`, so callers learn what was wrong without a 500.
"""

from __future__ import annotations

from typing import Any

from idp.auth.tokens import verify_token
from idp.config import Settings
from idp.errors import Unauthenticated

__all__ = ["authorize_request", "bearer_token"]


def bearer_token(headers: dict[str, str] | None) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("Authorization header must be 'Bearer <token>'")
            return token.strip()
    raise Unauthenticated("missing Authorization header")


def _api_wildcard(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../stage/*/*
    parts = method_arn.split("/")
    return "/".join(parts[:2]) + "/*/*" if len(parts) >= 2 else method_arn


def _policy(principal: str, effect: str, resource: str, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def authorize_request(event: dict[str, Any], settings: Settings) -> dict[str, Any]:
    resource = _api_wildcard(str(event.get("methodArn", "*")))
    try:
        claims = verify_token(settings, bearer_token(event.get("headers")))
    except Unauthenticated as exc:
        return _policy("anonymous", "Deny", resource, {"error_code": exc.code, "message": exc.message})
    platform_admin = claims.platform_admin or claims.sub in settings.platform_admins
    return _policy(
        claims.sub,
        "Allow",
        resource,
        {
            "user_id": claims.sub,
            "kind": claims.kind,
            "email": claims.email or "",
            "platform_admin": "true" if platform_admin else "false",
        },
    )
