"""What the auth routes accept and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from idp.schemas import Model
from idp.schemas.grammar import Line, SlackId

__all__ = [
    "DeliveryClaim",
    "DeliveryClaimed",
    "LinkCodeRead",
    "MeRead",
    "SlackLinkRead",
    "SlackLinkRequest",
    "SlackToken",
    "SlackUserRef",
    "TenantRole",
    "TokenRequest",
    "TokenResponse",
    "UserRecord",
]



class TokenRequest(Model):
    """`POST /auth/token`: the OIDC ID token to exchange (or send it as `Authorization: Bearer`)."""

    id_token: str = Field(min_length=1, max_length=16_384)


class TokenResponse(Model):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class TenantRole(Model):
    name: str
    role: str


class MeRead(Model):
    """`GET /auth/me`: the caller and the tenants they belong to."""

    user_id: str
    kind: Literal["user", "service_account"] = "user"
    email: str | None = None
    name: str | None = None
    platform_admin: bool = False
    tenants: list[TenantRole] = Field(default_factory=list)


class UserRecord(Model):
    """A row of `users`."""

    id: str
    email: str
    name: str | None
    oidc_issuer: str
    oidc_subject: str
    created_at: datetime
    last_login_at: datetime


class SlackUserRef(Model):
    """`POST /auth/slack/token`: the Slack user (workspace and user id) the chat-ops function acts for."""

    team_id: SlackId
    slack_user_id: SlackId


class SlackLinkRequest(SlackUserRef):
    """`POST /auth/slack/links`: link by a one-time code, or (without one) by the e-mail Slack confirms."""

    code: Line | None = Field(default=None, min_length=1, max_length=32)


class SlackToken(Model):
    """A linked Slack user's short-lived platform token (the linked user's own rights)."""

    token: str
    user_id: str
    expires_at: datetime = Field(description="the token is valid at least until then")


class SlackLinkRead(Model):
    """A Slack user's link to a platform user."""

    team_id: str
    slack_user_id: str
    user_id: str
    linked_via: Literal["email", "code"]
    linked_at: datetime


class LinkCodeRead(Model):
    """`POST /auth/link-codes`: a one-time code for `/idp link <code>` in Slack, shown once."""

    code: str
    expires_at: datetime
    instructions: str


class DeliveryClaim(Model):
    """`POST /auth/slack/deliveries`: a Slack delivery the chat-ops app is about to act on."""

    key: str = Field(min_length=1, max_length=300, pattern=r"^[\x21-\x7e]+$")
    kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")


class DeliveryClaimed(Model):
    first: bool = Field(description="false: a duplicate of a delivery already acted on; drop it")
