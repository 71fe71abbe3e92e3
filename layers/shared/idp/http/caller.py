"""Who is calling, as the API Gateway authorizer told us."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from idp.errors import Unauthenticated

__all__ = ["Caller", "caller_from_event"]


class Caller(BaseModel):
    """The authenticated principal of one request, plus where the request came from (for audit)."""

    user_id: str
    kind: Literal["user", "service_account"] = "user"
    platform_admin: bool = False
    email: str | None = None
    # Service accounts belong to one tenant (by id; the name is for people) with one role.
    service_account_id: str | None = None
    tenant_id: str | None = None
    tenant: str | None = None
    role: str | None = None
    # Audit: which front end (api, cli, slack) and API Gateway's request id.
    front_end: str = "api"
    request_id: str | None = None


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
