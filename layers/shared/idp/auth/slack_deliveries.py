"""Slack deliveries already acted on (`slack_deliveries`), so a duplicate does not act twice,
and a per-user attempt count for `/idp link` (codes are guessable only by brute force).

Plain functions, the Database first; each is one statement, so no transaction is needed.
"""

from __future__ import annotations

from typing import Any

from idp.db import Database

__all__ = ["claim", "delivery_key", "recent_count"]

_KEEP = "interval '1 day'"


def delivery_key(body: dict[str, Any]) -> tuple[str, str] | None:
    """(key, kind) naming this delivery, or None when it carries nothing to de-duplicate on.

    Events API: the event id (retries and duplicates repeat it). Slash commands and
    interactions: the trigger id, unique to one invocation by one user.
    """
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}", "event"
    trigger = body.get("trigger_id")
    if not trigger:
        return None
    if body.get("command"):
        return f"command:{trigger}", "command"
    kind = str(body.get("type") or "interaction")
    return f"{kind}:{trigger}", kind


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
