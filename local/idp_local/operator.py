"""Operator tasks the `idp` CLI runs on the operator's machine: database migrations, signing-key
rotation, the Slack outbox's parked messages. They talk to the database and Secrets Manager
directly (with the operator's own credentials), which the CLI's API commands never do: the CLI
reaches them only through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.auth.keys import KeySet

if TYPE_CHECKING:
    from idp.deploy.outbox import ParkedNotification

__all__ = ["migrate", "parked_notifications", "requeue_notifications", "rotate_signing_keys"]


def migrate() -> list[str]:
    """Applies pending migrations to DATABASE_URL; the names of those applied now."""
    from idp.db import apply_migrations, get_database

    return apply_migrations(get_database())


def rotate_signing_keys() -> KeySet:
    """A new current signing key (JWT_KEYS_SECRET_ID); ValueError when the setting is missing."""
    import boto3

    from idp.auth import keys
    from idp.config import get_settings

    secret_id = get_settings().jwt_keys_secret_id
    if not secret_id:
        raise ValueError("JWT_KEYS_SECRET_ID is not set")
    return keys.rotate_keys(boto3.client("secretsmanager"), secret_id)


def parked_notifications(*, limit: int = 100) -> list[ParkedNotification]:
    """The Slack outbox's parked rows (DATABASE_URL), oldest first: no pass sends them until requeued."""
    from idp.db import get_database
    from idp.deploy import outbox

    return outbox.parked_notifications(get_database(), limit=limit)


def requeue_notifications(ids: list[int] | None = None) -> list[int]:
    """Makes parked rows due again (those in `ids`, or all with None); the ids requeued. The poller's
    next pass sends them, looking in Slack first for a copy an earlier attempt may have posted."""
    from idp.db import get_database
    from idp.deploy import outbox

    db = get_database()
    with db.transaction():
        return outbox.requeue(db, ids)
