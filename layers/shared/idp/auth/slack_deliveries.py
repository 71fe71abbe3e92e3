"""Slack deliveries the chat-ops app already acted on (`slack_deliveries`), so a duplicate does
not act twice, and a per-Slack-user count of `/idp link` attempts (codes yield only to brute force).

The chat-ops function reaches these through the auth function's `/auth/slack/*` routes: it
holds no database credentials. Plain functions, the Database first; each is one statement.
"""

from __future__ import annotations

from idp.db import Database

__all__ = ["claim", "recent_count"]

_KEEP = "interval '1 day'"


def claim(db: Database, key: str, kind: str) -> bool:
    """True the first time `key` is seen (the caller acts), False for a duplicate."""
    rows = db.run(
        f"WITH pruned AS (DELETE FROM slack_deliveries WHERE received_at < now() - {_KEEP})"
        " INSERT INTO slack_deliveries (delivery_key, kind) VALUES (:key, :kind)"
        " ON CONFLICT (delivery_key) DO NOTHING RETURNING delivery_key",
        key=key,
        kind=kind,
    )
    return bool(rows)


def recent_count(db: Database, prefix: str, *, seconds: int) -> int:
    """How many deliveries whose key starts with `prefix` arrived in the last `seconds`."""
    row = db.row(
        "SELECT count(*) AS n FROM slack_deliveries WHERE delivery_key LIKE :pattern"
        " AND received_at > now() - make_interval(secs => CAST(:seconds AS integer))",
        pattern=prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
        seconds=seconds,
    )
    return int(row["n"]) if row else 0
