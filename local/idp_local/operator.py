"""Operator tasks the `idp` CLI runs on the operator's machine: database migrations and signing-key
rotation. They talk to the database and Secrets Manager directly (with the operator's own
credentials), which the CLI's API commands never do: the CLI reaches them only through here.
"""

from __future__ import annotations

from idp.auth.keys import KeySet

__all__ = ["migrate", "rotate_signing_keys"]


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
