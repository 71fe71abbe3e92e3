"""Ids as PostgreSQL takes them: checked before a query casts text to uuid (a bad cast is an error)."""

from __future__ import annotations

import uuid

__all__ = ["is_uuid"]


def is_uuid(value: str) -> bool:
    """Whether `value` is text PostgreSQL's `CAST(... AS uuid)` accepts (an unknown id is then just absent)."""
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
