"""Block Kit for the chat-ops answers about apps and deployments (`/idp deploy|status|history|rollback`).

The platform's own messages about a deployment (the approval request, its updates and the
thread) are `idp.slack_messages`; these are the ephemeral answers to one person.
"""

from __future__ import annotations

from typing import Any

from slack_blocks import MAX_MESSAGE_BLOCKS, truncate

from idp.schemas.deploy import AppEnvironmentStatus, AppRead, DeploymentRead
from idp.slack_messages import duration_text, escape, when

__all__ = ["app_status", "deployment_accepted", "deployment_history"]

Block = dict[str, Any]

_STATE_ICONS = {
    "pending_approval": ":hourglass_flowing_sand:",
    "approved": ":arrow_forward:",
    "rejected": ":no_entry_sign:",
    "expired": ":alarm_clock:",
    "syncing": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
}
_HEALTH_ICONS = {"Healthy": ":large_green_circle:", "Progressing": ":large_blue_circle:", "Degraded": ":red_circle:"}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text)}]}


def _qualified(tenant: str, app: str) -> str:
    return f"`{escape(tenant)}/{escape(app)}`"


def deployment_accepted(d: DeploymentRead) -> tuple[str, list[Block]]:
    """The requester's answer: where the approval is asked, or where progress is posted."""
    verb = "Rollback" if d.kind == "rollback" else "Deployment"
    what = f"{verb} of {_qualified(d.tenant, d.app)} `{escape(d.revision)}` to *{escape(d.environment)}*"
    where = f"<#{d.slack_channel}>" if d.slack_channel else None
    if d.state == "pending_approval":
        asked = f" in {where}" if where else ""
        text = f":hourglass_flowing_sand: {what} is waiting for approval{asked} by an owner or admin."
        if d.approval_expires_at is not None:
            text += f" The request expires {when(d.approval_expires_at)}."
    elif d.state in ("approved", "syncing"):
        progress = f"progress in the thread in {where}" if where else "see `/idp history` for progress"
        text = f":rocket: {what}: deploying; {progress}."
    elif d.state == "succeeded":
        details = f"; details in the thread in {where}" if where else ""
        text = f":white_check_mark: {what}: deployed in {duration_text(d.duration_seconds)}{details}."
    else:
        text = f"{_STATE_ICONS.get(d.state, '')} {what}: *{escape(d.state)}*."
        if d.message:
            text += f"\n> {escape(d.message)}"
    return truncate(f"{verb} {d.tenant}/{d.app} {d.revision} to {d.environment}: {d.state}"), [
        _section(text),
        _context(f"Deployment `{escape(d.id)}`"),
    ]


def _environment_line(live: AppEnvironmentStatus) -> str:
    if live.sync_status is None and live.health_status is None:
        return f"*{escape(live.environment)}* · Argo CD did not answer"
    health = live.health_status or "Unknown"
    parts = [
        f"*{escape(live.environment)}*",
        f"{_HEALTH_ICONS.get(health, ':white_circle:')} {escape(health)}",
        f"sync `{escape(live.sync_status or 'Unknown')}`",
        f"revision `{escape(live.revision or '-')}`",
    ]
    if live.last_deployed_at is not None:
        parts.append(f"deployed {when(live.last_deployed_at)}")
    line = " · ".join(parts)
    if live.operation_phase and live.operation_phase != "Succeeded":
        line += f"\n      operation `{escape(live.operation_phase)}`"
        if live.operation_message:
            line += f": {escape(live.operation_message)[:300]}"
    elif live.health_message and health != "Healthy":
        line += f"\n      {escape(live.health_message)[:300]}"
    return line


def app_status(app: AppRead) -> tuple[str, list[Block]]:
    """`/idp status`: per environment, Argo CD's sync, health and revision."""
    lines = [_environment_line(live) for live in app.live or []]
    if not lines:
        lines = [f"*{escape(env)}* · no live status" for env in app.environments]
    header = f"*{_qualified(app.tenant, app.name)}* · `{escape(app.status)}` · {escape(app.repo_url)}"
    if app.path != ".":
        header += f" `{escape(app.path)}`"
    blocks = [_section(header), _section("\n".join(lines))]
    return truncate(f"Status of {app.tenant}/{app.name}"), blocks


def _history_line(d: DeploymentRead) -> str:
    kind = "rollback to" if d.kind == "rollback" else "deploy"
    line = (
        f"{_STATE_ICONS.get(d.state, '')} *{escape(d.environment)}* {kind} `{escape(d.revision)}`"
        f" · `{escape(d.state)}` · by {escape(d.requested_by)} at {when(d.requested_at)}"
    )
    if d.decided_by:
        line += f" · {'rejected' if d.state == 'rejected' else 'approved'} by {escape(d.decided_by)}"
    if d.duration_seconds is not None:
        line += f" · {duration_text(d.duration_seconds)}"
    if d.state == "failed" and d.message:
        line += f"\n      {escape(d.message)[:200]}"
    return line


def deployment_history(
    tenant: str, app: str, environment: str | None, items: list[DeploymentRead]
) -> tuple[str, list[Block]]:
    """`/idp history`: the last deployments, newest first."""
    scope = f" in *{escape(environment)}*" if environment else ""
    if not items:
        return f"No deployments of {tenant}/{app} yet", [
            _section(f"No deployments of {_qualified(tenant, app)}{scope} yet.")
        ]
    blocks = [_section(f"*Last deployments of {_qualified(tenant, app)}*{scope}")]
    room = MAX_MESSAGE_BLOCKS - 1
    blocks += [_section(_history_line(d)) for d in items[:room]]
    return truncate(f"{len(items)} deployment(s) of {tenant}/{app}"), blocks
