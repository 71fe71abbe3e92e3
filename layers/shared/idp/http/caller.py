"""Who is calling, as the API Gateway authorizer told us."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from idp.errors import Unauthenticated

__all__ = ["Caller", "caller_from_event"]


class Caller(BaseModel):
    user_id: str
    kind: Literal["user", "service_account"] = "user"
    platform_admin: bool = False
    email: str | None = None


def caller_from_event(event: dict[str, Any]) -> Caller:
    """The authorizer's context (strings only, as API Gateway passes it on)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    user_id = authorizer.get("user_id") or authorizer.get("principalId")
    if not user_id:
        raise Unauthenticated("no authenticated caller on this request")
    return Caller(
        user_id=str(user_id),
        kind="service_account" if authorizer.get("kind") == "service_account" else "user",
        platform_admin=str(authorizer.get("platform_admin", "false")).lower() == "true",
        email=authorizer.get("email") or None,
    )
