"""Slack identities linked to platform users, so the chat-ops app acts only for a linked
user, with that user's rights.

Two ways to link a Slack user (named by team id and user id):

- by e-mail: when Slack reports the address as confirmed (`users.info` → `is_email_confirmed`)
  and exactly one platform user has it;
- by code: a signed-in user asks for a one-time code (`POST /auth/link-codes`, `idp link`)
  and types it in Slack (`/idp link <code>`).

The chat-ops function holds no signing key and never touches these tables: it asks the auth
function (`POST /auth/slack/links`, `POST /auth/slack/token`, callable by the chat-ops role
only), which runs `link_slack_user` and `exchange_slack_token` here.

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L, U), about 39
bits. Only the SHA-256 of its normalised form is stored: the code is short-lived (10
minutes), single use, and a user holds at most `MAX_LIVE_CODES` live ones, so guessing one
online is hopeless and a stolen hash is useless once the code expires. A slow password hash
would add nothing. The chat-ops app should still rate-limit `/idp link` per Slack user.

Plain functions, the Database first; they never commit: the caller owns the transaction.
The two flows at the end (one per route) own theirs, as a flow does.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from idp.auth import slack_deliveries
from idp.auth.keys import KeySet
from idp.auth.tokens import issue_token
from idp.config import Settings
from idp.db import Database
from idp.errors import InvalidInput, NotFound, RateLimited
from idp.schemas.auth import SlackToken

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "MAX_LIVE_CODES",
    "LinkCodeIssued",
    "SlackLink",
    "audit_link",
    "create_link_code",
    "exchange_slack_token",
    "issue_link_code",
    "link_by_code",
    "link_by_verified_email",
    "link_slack_user",
    "linked_user",
    "normalise_code",
    "platform_token_for_slack_user",
    "unlink",
]

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 8
MAX_LIVE_CODES = 3
_MAX_TTL_SECONDS = 3600
_MAX_TOKEN_TTL_SECONDS = 900
_MAX_SLACK_ID_LENGTH = 64
LINK_ATTEMPTS = 5  # per Slack user ...
LINK_WINDOW_SECONDS = 600  # ... per ten minutes

LinkedVia = Literal["email", "code"]

_INVALID_CODE = "link code is invalid or has expired; run `idp link` again"
_NOT_LINKED = "your Slack account is not linked to the platform; run `idp link` and then `/idp link <code>`"
_LINK_COLUMNS = "slack_team_id, slack_user_id, user_id, linked_via, linked_at"


class SlackLink(BaseModel):
    """A Slack user (workspace and user id) acting as a platform user."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    slack_team_id: str
    slack_user_id: str
    user_id: str
    linked_via: LinkedVia
    linked_at: datetime


class LinkCodeIssued(BaseModel):
    """A new link code: shown once to the user who asked for it, never stored in clear."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    code: str
    expires_at: datetime


def normalise_code(code: str) -> str:
    """The code as stored (hashed): upper case, without spaces or dashes."""
    return "".join(ch for ch in code if ch not in " \t-").upper()


def _hash_code(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()


def _check_slack_ids(team_id: str, slack_user_id: str) -> None:
    for field, value in (("team_id", team_id), ("slack_user_id", slack_user_id)):
        if not value or len(value) > _MAX_SLACK_ID_LENGTH:
            raise InvalidInput(f"a Slack {field} is required", details=[{"field": field, "message": "required"}])


def issue_link_code(db: Database, user_id: str, *, ttl_seconds: int = 600) -> LinkCodeIssued:
    """A new one-time code for `user_id`, valid `ttl_seconds`, and when it expires.

    Expired codes of the user are dropped, and the oldest live ones too, so that the user
    holds at most `MAX_LIVE_CODES` live codes. NotFound if the user never signed in.
    """
    if not 0 < ttl_seconds <= _MAX_TTL_SECONDS:
        raise InvalidInput(f"ttl_seconds must be between 1 and {_MAX_TTL_SECONDS}")
    # Locking the user's row serialises concurrent requests of one user (the live-code cap).
    if db.row("SELECT id FROM users WHERE id = :id FOR UPDATE", id=user_id) is None:
        raise NotFound(
            f"user '{user_id}' has not signed in to the platform yet; run `idp login` first",
            code="user_not_found",
            details={"user": user_id},
        )
    db.run("DELETE FROM slack_link_codes WHERE user_id = :user AND expires_at <= now()", user=user_id)
    db.run(
        "DELETE FROM slack_link_codes WHERE code_hash IN ("
        " SELECT code_hash FROM slack_link_codes WHERE user_id = :user AND used_at IS NULL"
        " ORDER BY created_at DESC, code_hash OFFSET :keep)",
        user=user_id,
        keep=MAX_LIVE_CODES - 1,
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    row = db.row(
        "INSERT INTO slack_link_codes (code_hash, user_id, expires_at)"
        " VALUES (:hash, :user, now() + make_interval(secs => CAST(:ttl AS integer)))"
        " RETURNING expires_at",
        hash=_hash_code(code),
        user=user_id,
        ttl=ttl_seconds,
    )
    assert row is not None
    return LinkCodeIssued(code=code, expires_at=row["expires_at"])


def create_link_code(db: Database, user_id: str, ttl_seconds: int = 600) -> str:
    """A new one-time code for `user_id` (see `issue_link_code`)."""
    return issue_link_code(db, user_id, ttl_seconds=ttl_seconds).code


def _upsert_link(db: Database, team_id: str, slack_user_id: str, user_id: str, via: LinkedVia) -> SlackLink:
    row = db.row(
        "INSERT INTO slack_links (slack_team_id, slack_user_id, user_id, linked_via)"
        " VALUES (:team, :slack_user, :user, :via)"
        " ON CONFLICT (slack_team_id, slack_user_id) DO UPDATE SET user_id = EXCLUDED.user_id,"
        " linked_via = EXCLUDED.linked_via, linked_at = now()"
        f" RETURNING {_LINK_COLUMNS}",
        team=team_id,
        slack_user=slack_user_id,
        user=user_id,
        via=via,
    )
    assert row is not None
    return SlackLink.model_validate(row)


def link_by_code(db: Database, *, team_id: str, slack_user_id: str, code: str) -> SlackLink:
    """Links the Slack user to the user who asked for `code`, using the code up.

    A Slack user already linked is re-linked (to whoever the code belongs to).
    InvalidInput if the code is unknown, used or expired (one message for all three).
    """
    _check_slack_ids(team_id, slack_user_id)
    normalised = normalise_code(code)
    if len(normalised) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in normalised):
        raise InvalidInput(_INVALID_CODE, code="link_code_invalid")
    # One statement both checks and uses the code, so two concurrent uses cannot both win.
    row = db.row(
        "UPDATE slack_link_codes SET used_at = now()"
        " WHERE code_hash = :hash AND used_at IS NULL AND expires_at > now() RETURNING user_id",
        hash=_hash_code(normalised),
    )
    if row is None:
        raise InvalidInput(_INVALID_CODE, code="link_code_invalid")
    return _upsert_link(db, team_id, slack_user_id, str(row["user_id"]), "code")


def link_by_verified_email(
    db: Database, *, team_id: str, slack_user_id: str, email: str | None, email_verified: bool
) -> SlackLink | None:
    """Links the Slack user to the platform user with this e-mail, if Slack vouches for it.

    None unless Slack reports the address as confirmed (`is_email_confirmed`) and exactly
    one platform user has it. A Slack user already linked keeps the link it has (a code
    link is an explicit choice an e-mail match must not override); it is returned as is.
    """
    _check_slack_ids(team_id, slack_user_id)
    if not email_verified or not email or not email.strip():
        return None
    existing = _find_link(db, team_id, slack_user_id)
    if existing is not None:
        return existing
    matches = db.rows("SELECT id FROM users WHERE lower(email) = :email LIMIT 2", email=email.strip().lower())
    if len(matches) != 1:
        return None
    return _upsert_link(db, team_id, slack_user_id, str(matches[0]["id"]), "email")


def _find_link(db: Database, team_id: str, slack_user_id: str) -> SlackLink | None:
    row = db.row(
        f"SELECT {_LINK_COLUMNS} FROM slack_links WHERE slack_team_id = :team AND slack_user_id = :slack_user",
        team=team_id,
        slack_user=slack_user_id,
    )
    return SlackLink.model_validate(row) if row else None


def linked_user(db: Database, *, team_id: str, slack_user_id: str) -> str | None:
    """The platform user id the Slack user is linked to, or None."""
    link = _find_link(db, team_id, slack_user_id)
    return link.user_id if link else None


def unlink(db: Database, *, team_id: str, slack_user_id: str) -> bool:
    """Removes the Slack user's link; False if there was none."""
    rows = db.run(
        "DELETE FROM slack_links WHERE slack_team_id = :team AND slack_user_id = :slack_user RETURNING user_id",
        team=team_id,
        slack_user=slack_user_id,
    )
    return bool(rows)


def platform_token_for_slack_user(
    db: Database,
    settings: Settings,
    *,
    team_id: str,
    slack_user_id: str,
    ttl_seconds: int = 300,
    keyset: KeySet | None = None,
) -> SlackToken:
    """A short-lived platform token of the user the Slack user is linked to.

    The token is an ordinary user token (the same claims sign-in would give, platform
    admin included), so every route checks the linked user's own rights. NotFound
    (`slack_not_linked`) if the Slack user is not linked.
    """
    if not 0 < ttl_seconds <= _MAX_TOKEN_TTL_SECONDS:
        raise InvalidInput(f"ttl_seconds must be between 1 and {_MAX_TOKEN_TTL_SECONDS}")
    row = db.row(
        "SELECT u.id, u.email, u.name FROM slack_links l JOIN users u ON u.id = l.user_id"
        " WHERE l.slack_team_id = :team AND l.slack_user_id = :slack_user",
        team=team_id,
        slack_user=slack_user_id,
    )
    if row is None:
        raise NotFound(_NOT_LINKED, code="slack_not_linked")
    user_id = str(row["id"])
    issued_at = int(time.time())  # the token's own iat is this second or a later one
    token = issue_token(
        settings,
        subject=user_id,
        email=row["email"],
        name=row["name"],
        platform_admin=user_id in settings.platform_admins,
        ttl_seconds=ttl_seconds,
        keyset=keyset,
    )
    return SlackToken(token=token, user_id=user_id, expires_at=datetime.fromtimestamp(issued_at + ttl_seconds, UTC))


def audit_link(db: Database, link: SlackLink) -> None:
    """The audit entry for a new link, written in the caller's transaction."""
    from idp.audit.service import record

    record(
        db,
        None,
        "slack.link",
        link.user_id,
        actor=link.user_id,
        actor_kind="user",
        front_end="slack",
        details={
            "slack_team_id": link.slack_team_id,
            "slack_user_id": link.slack_user_id,
            "linked_via": link.linked_via,
        },
    )


# ---------------------------------------------------------------- flows (one per chat-ops route)


def exchange_slack_token(
    db: Database,
    settings: Settings,
    *,
    team_id: str,
    slack_user_id: str,
    request_id: str | None = None,
    ttl_seconds: int = 300,
) -> SlackToken:
    """The linked user's token (`platform_token_for_slack_user`), audited as `slack.token_exchange`.

    The entry is written in the transaction that reads the link, so no token leaves without
    one; a refusal (`slack_not_linked`) is audited as denied in a transaction of its own.
    """
    from idp.audit.service import record
    from idp.principal import Caller

    details = {"slack_team_id": team_id, "slack_user_id": slack_user_id}
    try:
        with db.transaction():
            issued = platform_token_for_slack_user(
                db, settings, team_id=team_id, slack_user_id=slack_user_id, ttl_seconds=ttl_seconds
            )
            caller = Caller(user_id=issued.user_id, front_end="slack", request_id=request_id)
            record(db, caller, "slack.token_exchange", issued.user_id, details=details)
    except NotFound:
        slack_user = f"slack:{team_id}/{slack_user_id}"
        with db.transaction():
            caller = Caller(user_id=slack_user, front_end="slack", request_id=request_id)
            action = "slack.token_exchange"
            record(db, caller, action, slack_user, actor_kind="anonymous", outcome="denied", details=details)
        raise
    return issued


def _count_link_attempt(db: Database, team_id: str, slack_user_id: str) -> None:
    """At most LINK_ATTEMPTS codes per Slack user per LINK_WINDOW_SECONDS (429 past that); the
    attempt is committed before the code is tried, so a wrong code counts too."""
    _check_slack_ids(team_id, slack_user_id)
    prefix = f"link:{team_id}:{slack_user_id}:"
    with db.transaction():
        if slack_deliveries.recent_count(db, prefix, seconds=LINK_WINDOW_SECONDS) >= LINK_ATTEMPTS:
            raise RateLimited("too many `/idp link` attempts; wait ten minutes and try again", code="link_rate_limited")
        slack_deliveries.claim(db, prefix + secrets.token_hex(8), "link_attempt")


def link_slack_user(
    db: Database,
    confirmed_email: Callable[[str], str | None],
    *,
    team_id: str,
    slack_user_id: str,
    code: str | None = None,
) -> tuple[SlackLink, bool]:
    """The Slack user's link, and whether this call made it (then audited as `slack.link`).

    With `code`: links by the one-time code (`link_by_code`). Without: the existing link, else
    a link by the e-mail Slack itself confirms for the user — `confirmed_email(slack_user_id)`,
    which asks Slack and is called outside any transaction — NotFound (`slack_not_linked`)
    when there is neither.
    """
    if code is not None:
        _count_link_attempt(db, team_id, slack_user_id)
        with db.transaction():
            link = link_by_code(db, team_id=team_id, slack_user_id=slack_user_id, code=code)
            audit_link(db, link)
        return link, True
    _check_slack_ids(team_id, slack_user_id)
    with db.transaction():
        existing = _find_link(db, team_id, slack_user_id)
    if existing is not None:
        return existing, False
    email = confirmed_email(slack_user_id)
    with db.transaction():
        by_email = link_by_verified_email(
            db, team_id=team_id, slack_user_id=slack_user_id, email=email, email_verified=email is not None
        )
        if by_email is None:
            raise NotFound(_NOT_LINKED, code="slack_not_linked")
        audit_link(db, by_email)
    return by_email, True
