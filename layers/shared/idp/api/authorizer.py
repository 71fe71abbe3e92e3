"""The API Gateway REQUEST authorizer's logic.

A valid token yields an Allow policy for the whole API plus a context (strings only)
that the functions read as the caller. An invalid one yields a Deny whose context
carries the reason; the template's ACCESS_DENIED gateway response turns it into a 401
`{"error": {...}}`, so callers learn what was wrong without a 500.

Two kinds of bearer token are accepted: platform JWTs (RS256, checked against the key set
in Secrets Manager) and service-account tokens (`idp_sa_...`, looked up in the database).
The database and its driver are touched only when a service-account token arrives, so the
authorizer's cold start stays free of pg8000; and a platform JWT's path imports no pydantic and
no boto3 (the settings are `idp.env.AuthorizerSettings`, or any with the
same values, such as `idp.config.Settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from idp.auth.tokens import VerifySettings, verify_token
from idp.errors import Unauthenticated

__all__ = ["SERVICE_ACCOUNT_TOKEN_PREFIX", "AuthorizerConfig", "authorize_request", "bearer_token"]

SERVICE_ACCOUNT_TOKEN_PREFIX = "idp_sa_"


class AuthorizerConfig(VerifySettings, Protocol):
    @property
    def platform_admins(self) -> Sequence[str]: ...


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


def _service_account_context(token: str) -> tuple[str, dict[str, Any]]:
    """(principal, context) of a service-account token; Unauthenticated when it is not valid."""
    from idp.db import get_database
    from idp.service_accounts.service import authenticate_token

    db = get_database()
    with db.transaction():
        principal = authenticate_token(db, token)
    user_id = f"sa:{principal.tenant}:{principal.name}"
    return user_id, {
        "user_id": user_id,
        "kind": "service_account",
        "service_account_id": str(principal.id),
        "tenant": principal.tenant,
        "tenant_id": principal.tenant_id,
        "role": principal.role,
        "platform_admin": "false",
        "email": "",
    }


def authorize_request(event: dict[str, Any], settings: AuthorizerConfig) -> dict[str, Any]:
    resource = _api_wildcard(str(event.get("methodArn", "*")))
    try:
        token = bearer_token(event.get("headers"))
        if token.startswith(SERVICE_ACCOUNT_TOKEN_PREFIX):
            principal, context = _service_account_context(token)
            return _policy(principal, "Allow", resource, context)
        claims = verify_token(settings, token)
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
