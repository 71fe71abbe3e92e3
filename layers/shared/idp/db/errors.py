"""The driver's errors, translated here so that nothing above `idp.db` imports pg8000."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["on_unique_violation"]

_UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


@contextmanager
def on_unique_violation(error: Exception) -> Iterator[None]:
    """Raises `error` instead when a statement inside breaks a unique constraint; other errors pass."""
    import pg8000.exceptions

    try:
        yield
    except pg8000.exceptions.DatabaseError as exc:
        detail = exc.args[0] if exc.args else {}
        if isinstance(detail, dict) and detail.get("C") == _UNIQUE_VIOLATION:
            raise error from exc
        raise
