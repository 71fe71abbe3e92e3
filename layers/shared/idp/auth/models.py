"""What the auth routes accept and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["MeRead", "TenantRole", "TokenRequest", "TokenResponse", "UserRecord"]


class TokenRequest(BaseModel):
    """`POST /auth/token`: the OIDC ID token to exchange (or send it as `Authorization: Bearer`)."""

    id_token: str = Field(min_length=1, max_length=16_384)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class TenantRole(BaseModel):
    name: str
    role: str


class MeRead(BaseModel):
    """`GET /auth/me`: the caller and the tenants they belong to."""

    user_id: str
    kind: Literal["user", "service_account"] = "user"
    email: str | None = None
    name: str | None = None
    platform_admin: bool = False
    tenants: list[TenantRole] = Field(default_factory=list)


class UserRecord(BaseModel):
    """A row of `users`."""

    id: str
    email: str
    name: str | None
    oidc_issuer: str
    oidc_subject: str
    created_at: datetime
    last_login_at: datetime
