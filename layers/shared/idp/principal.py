"""Who acts: the authenticated principal of one request, whatever front end it came through.

The domain takes a `Caller`; only the HTTP edge (`idp.api.caller`) builds one from an event.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Caller"]


class Caller(BaseModel):
    """The authenticated principal of one request, plus where the request came from (for audit)."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

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
