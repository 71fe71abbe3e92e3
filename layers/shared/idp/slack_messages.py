"""Block Kit for a deployment's Slack messages, rendered from its `DeploymentRead`.

One main message per deployment (posted to its `slack_channel`, then updated in place as
the deployment moves on) and short replies in that message's thread for the sync's start
and outcome. A pending approval carries Approve / Reject buttons whose value is only the
deployment id: the clicker's own rights are checked again when the API is called.

Everything a person typed (user ids, revisions, comments, Argo CD's messages) is escaped
for Slack (`&`, `<`, `>`) and cut to Slack's limits (FACTS.md: section text 3,000
characters, a field 2,000, button text 75, button value 2,000).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from idp.schemas.deploy import DeploymentRead

__all__ = [
    "APPROVE_ACTION_ID",
    "DECISION_BLOCK_ID",
    "REJECT_ACTION_ID",
    "THREAD_KINDS",
    "SlackMessage",
    "ThreadKind",
    "duration_text",
    "escape",
    "main_message",
    "thread_message",
    "when",
]

APPROVE_ACTION_ID = "deploy_approve"
REJECT_ACTION_ID = "deploy_reject"
DECISION_BLOCK_ID = "deploy_decision"

ThreadKind = Literal["started", "succeeded", "failed"]
THREAD_KINDS: tuple[ThreadKind, ...] = ("started", "succeeded", "failed")

MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
Block = dict[str, Any]


class SlackMessage(BaseModel):
    """What `chat.postMessage` / `chat.update` send: the notification text and the blocks."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    text: str
    blocks: list[Block]


def escape(text: object) -> str:
    """`text` safe inside Slack mrkdwn: `&`, `<` and `>` escaped (no mentions or links forged)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(moment: datetime | None) -> str:
    """`2025-01-31 14:05 UTC` (Slack shows plain text the same to everyone)."""
    if moment is None:
        return "?"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_TEXT)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, MAX_TEXT)}]}


def _button(text: str, action_id: str, value: str, style: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": _cut(text, MAX_BUTTON_TEXT)},
        "action_id": action_id,
        "value": _cut(value, MAX_BUTTON_VALUE),
        "style": style,
    }


def _quote(text: str, limit: int = 1500) -> str:
    return "\n".join(f"> {line}" for line in _cut(escape(text), limit).splitlines() or [""])


def _what(d: DeploymentRead) -> str:
    """`deploy `web` revision `abc` to *prod*` (tenant-qualified), for the message's first line."""
    app = f"`{escape(d.tenant)}/{escape(d.app)}`"
    if d.kind == "rollback":
        return f"roll back {app} in *{escape(d.environment)}* to `{escape(d.revision)}`"
    return f"deploy {app} revision `{escape(d.revision)}` to *{escape(d.environment)}*"


def _headline(d: DeploymentRead) -> str:
    who = f"*{escape(d.requested_by)}*"
    if d.state == "pending_approval":
        return f":raised_hand: {who} asks to {_what(d)}"
    return f":rocket: {who} requested to {_what(d)}"


def _decision(d: DeploymentRead) -> str | None:
    """Who decided and when (None before a decision, or when no approval was needed)."""
    if not d.approval_required or d.decided_by is None:
        return None
    verb = "Rejected" if d.state == "rejected" else "Approved"
    icon = ":no_entry_sign:" if d.state == "rejected" else ":white_check_mark:"
    line = f"{icon} {verb} by *{escape(d.decided_by)}* at {when(d.decided_at)}"
    if d.decision_comment:
        line += "\n" + _quote(d.decision_comment, 500)
    return line


def _state_line(d: DeploymentRead) -> str:
    revision = f"`{escape(d.deployed_revision or d.revision)}`"
    match d.state:
        case "pending_approval":
            return (
                f":hourglass_flowing_sand: *Waiting for approval* by an owner or admin of *{escape(d.tenant)}*"
                f" (not {escape(d.requested_by)}); expires {when(d.approval_expires_at)}"
            )
        case "approved":
            waiting = f"\n{_quote(d.message)}" if d.message else ""
            return f":arrow_forward: *Approved*: the sync starts shortly{waiting}"
        case "rejected":
            return ":no_entry_sign: *Rejected*: nothing was deployed"
        case "expired":
            return f":alarm_clock: *Expired* at {when(d.approval_expires_at)} without a decision: nothing was deployed"
        case "syncing":
            return f":arrows_counterclockwise: *Syncing* {revision} since {when(d.sync_started_at)}"
        case "succeeded":
            return f":white_check_mark: *Deployed* {revision} in {duration_text(d.duration_seconds)}"
        case "failed":
            reason = f"\n{_quote(d.message)}" if d.message else ""
            after = f" after {duration_text(d.duration_seconds)}" if d.duration_seconds is not None else ""
            return f":x: *Failed*{after}{reason}"
    return f"*{escape(d.state)}*"


def _summary(d: DeploymentRead) -> str:
    """The notification text (what Slack shows in alerts and where blocks are not rendered)."""
    verb = "roll back" if d.kind == "rollback" else "deploy"
    target = f"{d.tenant}/{d.app} {d.revision} to {d.environment}"
    state = d.state.replace("_", " ")
    if d.state == "pending_approval":
        return _cut(escape(f"{d.requested_by} asks to {verb} {target}: approval needed"), MAX_TEXT)
    return _cut(escape(f"{d.requested_by}: {verb} {target}: {state}"), MAX_TEXT)


def main_message(d: DeploymentRead) -> SlackMessage:
    """The deployment's one channel message: the request, its state, the decision; buttons while pending."""
    blocks: list[Block] = [_section(_headline(d))]
    lines = [_state_line(d)]
    decision = _decision(d)
    if decision:
        lines.insert(0, decision)
    blocks.append(_section("\n".join(lines)))
    if d.state == "pending_approval":
        blocks.append(
            {
                "type": "actions",
                "block_id": DECISION_BLOCK_ID,
                "elements": [
                    _button("Approve", APPROVE_ACTION_ID, d.id, "primary"),
                    _button("Reject", REJECT_ACTION_ID, d.id, "danger"),
                ],
            }
        )
    previous = f" · replacing `{escape(d.previous_revision)}`" if d.previous_revision else ""
    blocks.append(
        _context(
            f"Deployment `{escape(d.id)}` · requested via {escape(d.requested_via)} at {when(d.requested_at)}{previous}"
        )
    )
    return SlackMessage(text=_summary(d), blocks=blocks)


def thread_message(d: DeploymentRead, kind: ThreadKind) -> SlackMessage:
    """A reply in the main message's thread: the sync started, succeeded or failed."""
    env = f"*{escape(d.environment)}*"
    if kind == "started":
        revision = f"`{escape(d.revision)}`"
        argocd_app = escape(f"{d.tenant}-{d.app}-{d.environment}")
        text = f":arrows_counterclockwise: Sync of {revision} to {env} started (Argo CD application `{argocd_app}`)"
        if d.sync_started_at is not None:
            text += f" at {when(d.sync_started_at)}"
    elif kind == "succeeded":
        revision = f"`{escape(d.deployed_revision or d.revision)}`"
        text = f":white_check_mark: Deployed {revision} to {env} in {duration_text(d.duration_seconds)}"
    else:
        text = f":x: Deploy of `{escape(d.revision)}` to {env} failed"
        text += f":\n{_quote(d.message)}" if d.message else "."
    plain = {"started": "sync started", "succeeded": "deployed", "failed": "failed"}[kind]
    summary = _cut(escape(f"{d.tenant}/{d.app} {d.revision} to {d.environment}: {plain}"), MAX_TEXT)
    return SlackMessage(text=summary, blocks=[_section(text)])
