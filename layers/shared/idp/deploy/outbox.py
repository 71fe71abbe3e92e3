"""Notification outbox rows (`deployment_notifications`). Plain functions, the Database first; they never commit.

`idp.deploy.notifications` sends them to Slack.

Kinds: requested, approved, rejected, expired, started, succeeded, failed (`NotificationKind`).
"requested" is the first row of every deployment that has a Slack channel (the main message;
Approve/Reject buttons only when `service.DeploymentRecord.approval_required` and the state is still
pending_approval). The flows write rows in the transaction of the change they report:

- `enqueue(db, deployment_id, kind) -> bool`: inserts a row only when the deployment has a
  slack_channel (False otherwise).
- `unsent_notifications(db, deployment_id=None, *, limit=100) -> list[NotificationRecord]`:
  unsent rows in id order (one deployment, or all).
- `deployments_with_unsent(db, *, limit=50) -> list[str]`: deployment ids with unsent rows, oldest first.
- `try_lock_notifications(db, deployment_id) -> bool`: a transaction-scoped advisory lock so
  that two processes never send the same deployment's rows at once (False: someone else is).
- `mark_sent(db, notification_id)`, `mark_failed(db, notification_id, error)` (attempts + 1, last_error).
- `set_slack_message(db, deployment_id, channel, ts)`: where the main message lives
  (`DeploymentRecord.slack_channel` / `.slack_ts`); thread replies use ts as thread_ts.
- `service.get_deployment(db, id)` gives everything a message shows (tenant, app, environment, kind,
  revision, state, requested_by, decided_by/at, decision_comment, message, ...); `.read()`
  is the public `DeploymentRead`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from idp.db import Database

__all__ = [
    "NOTIFICATION_KINDS",
    "NotificationKind",
    "NotificationRecord",
    "deployments_with_unsent",
    "enqueue",
    "mark_failed",
    "mark_sent",
    "set_slack_message",
    "try_lock_notifications",
    "unsent_notifications",
]

NotificationKind = Literal["requested", "approved", "rejected", "expired", "started", "succeeded", "failed"]
NOTIFICATION_KINDS: tuple[NotificationKind, ...] = (
    "requested",
    "approved",
    "rejected",
    "expired",
    "started",
    "succeeded",
    "failed",
)


class NotificationRecord(BaseModel):
    id: int
    deployment_id: str
    kind: NotificationKind
    created_at: datetime
    attempts: int
    last_error: str | None


_NOTIFICATION_COLUMNS = "id, deployment_id::text AS deployment_id, kind, created_at, attempts, last_error"


def enqueue(db: Database, deployment_id: str, kind: NotificationKind) -> bool:
    """Queues a Slack message about the deployment; nothing (False) when it has no slack_channel."""
    rows = db.run(
        "INSERT INTO deployment_notifications (deployment_id, kind) SELECT id, :kind FROM deployments"
        " WHERE id = CAST(:id AS uuid) AND slack_channel IS NOT NULL RETURNING id",
        id=deployment_id,
        kind=kind,
    )
    return bool(rows)


def unsent_notifications(
    db: Database, deployment_id: str | None = None, *, limit: int = 100
) -> list[NotificationRecord]:
    """Unsent rows in id order: of one deployment, or of all deployments (None)."""
    rows = db.rows(
        f"SELECT {_NOTIFICATION_COLUMNS} FROM deployment_notifications WHERE sent_at IS NULL"
        " AND (CAST(:id AS uuid) IS NULL OR deployment_id = CAST(:id AS uuid)) ORDER BY id LIMIT :limit",
        id=deployment_id,
        limit=limit,
    )
    return [NotificationRecord.model_validate(r) for r in rows]


def deployments_with_unsent(db: Database, *, limit: int = 50) -> list[str]:
    rows = db.run(
        "SELECT deployment_id::text FROM deployment_notifications WHERE sent_at IS NULL"
        " GROUP BY deployment_id ORDER BY min(id) LIMIT :limit",
        limit=limit,
    )
    return [str(r[0]) for r in rows]


def try_lock_notifications(db: Database, deployment_id: str) -> bool:
    """Takes the deployment's delivery lock until the transaction ends; False when another process holds it."""
    rows = db.run(
        "SELECT pg_try_advisory_xact_lock(hashtextextended(:text, 0))",
        text=f"deployment-notifications:{deployment_id}",
    )
    return bool(rows[0][0])


def mark_sent(db: Database, notification_id: int) -> None:
    db.run(
        "UPDATE deployment_notifications SET sent_at = now(), attempts = attempts + 1, last_error = NULL"
        " WHERE id = :id",
        id=notification_id,
    )


def mark_failed(db: Database, notification_id: int, error: str) -> None:
    db.run(
        "UPDATE deployment_notifications SET attempts = attempts + 1, last_error = :error WHERE id = :id",
        id=notification_id,
        error=error[:1000],
    )


def set_slack_message(db: Database, deployment_id: str, channel: str, ts: str) -> None:
    db.run(
        "UPDATE deployments SET slack_channel = :channel, slack_ts = :ts, updated_at = now()"
        " WHERE id = CAST(:id AS uuid)",
        id=deployment_id,
        channel=channel,
        ts=ts,
    )
