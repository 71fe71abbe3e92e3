"""What names a Slack delivery, so that a duplicate can be told from a new request."""

from __future__ import annotations

from typing import Any

__all__ = ["delivery_key"]


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
