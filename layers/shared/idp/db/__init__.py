"""The one DB access layer: pg8000 connections, transactions and versioned migrations."""

from idp.db.connection import Database, connect, get_database, parse_database_url, reset_database
from idp.db.errors import on_unique_violation
from idp.db.ids import is_uuid
from idp.db.migrate import applied_versions, apply_migrations, default_migrations_dir

__all__ = [
    "Database",
    "applied_versions",
    "apply_migrations",
    "connect",
    "default_migrations_dir",
    "get_database",
    "is_uuid",
    "on_unique_violation",
    "parse_database_url",
    "reset_database",
]
