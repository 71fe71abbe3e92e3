"""Who is calling, as the API Gateway authorizer told us."""

from __future__ import annotations

from typing import Any

from idp.errors import Unauthenticated
from idp.principal import Caller

__all__ = ["caller_from_event"]


def caller_from_event(event: dict[str, Any]) -> Caller:
    """The authorizer's context (strings only, as API Gateway passes it on)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    user_id = authorizer.get("user_id") or authorizer.get("principalId")
    if not user_id:
        raise Unauthenticated("no authenticated caller on this request")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    front_end = str(headers.get("x-idp-client", "api")).lower()
    return Caller(
        user_id=str(user_id),
        kind="service_account" if authorizer.get("kind") == "service_account" else "user",
        platform_admin=str(authorizer.get("platform_admin", "false")).lower() == "true",
        email=authorizer.get("email") or None,
        service_account_id=authorizer.get("service_account_id") or None,
        tenant_id=authorizer.get("tenant_id") or None,
        tenant=authorizer.get("tenant") or None,
        role=authorizer.get("role") or None,
        front_end=front_end if front_end in ("api", "cli", "slack") else "api",
        request_id=(event.get("requestContext") or {}).get("requestId"),
    )
