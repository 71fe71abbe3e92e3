"""Notification outbox rows (`deployment_notifications`). Plain functions, the Database first; they never commit.

`idp.deploy.notifications` sends them to Slack.

Kinds: requested, approved, rejected, expired, started, succeeded, failed (`NotificationKind`).
"requested" is the first row of every deployment that has a Slack channel (the main message;
Approve/Reject buttons only when `service.DeploymentRecord.approval_required` and the state is still
pending_approval). The flows write rows in the transaction of the change they report:

- `enqueue(db, deployment_id, kind) -> bool`: inserts a row only when the deployment has a
  slack_channel (False otherwise).
- `unsent_notifications(db, deployment_id=None, *, limit=100) -> list[NotificationRecord]`:
  unsent rows in id order (one deployment, or all), parked ones included; `.due` says whether
  a row may be sent now (not parked, past its `next_attempt_at`, no live claim).
- `deployments_with_unsent(db, *, limit=50) -> list[str]`: the deliverer's work list: deployments
  whose first unsent row is due, oldest first. A parked row, or one backing off, never holds up
  other deployments (its own deployment's later rows wait behind it, to keep the order).
- `try_lock_notifications(db, deployment_id) -> bool`: a transaction-scoped advisory lock so
  that two processes never claim the same deployment's rows at once (False: someone else is).
- A row's life: `claim(db, id)` (sending_at = now(), attempts + 1; committed before Slack is
  called) → `mark_sent(..., slack_ts=)` | `mark_failed(..., retry_in_seconds=)` (back to due
  later) | `park(...)`. The outcome functions act only on the claim they are given (`claimed_at`).
  A claim older than `CLAIM_LEASE_SECONDS` belongs to a sender that stopped: the row is due again,
  and `NotificationRecord.may_have_reached_slack` tells the next sender to look in Slack first.
- `parked_notifications(db)`, `count_parked(db)`, `requeue(db, ids=None)`: for operators (`idp
  outbox list|requeue`) and the poller's metric.
- `set_slack_message(db, deployment_id, channel, ts)`: where the main message lives
  (`DeploymentRecord.slack_channel` / `.slack_ts`); thread replies use ts as thread_ts.
- `service.get_deployment(db, id)` gives everything a message shows (tenant, app, environment, kind,
  revision, state, requested_by, decided_by/at, decision_comment, message, ...); `.read()`
  is the public `DeploymentRead`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from idp.db import Database

__all__ = [
    "CLAIM_LEASE_SECONDS",
    "NOTIFICATION_KINDS",
    "NotificationKind",
    "NotificationRecord",
    "ParkedNotification",
    "claim",
    "count_parked",
    "deployments_with_unsent",
    "enqueue",
    "mark_failed",
    "mark_sent",
    "park",
    "parked_notifications",
    "requeue",
    "set_slack_message",
    "try_lock_notifications",
    "unsent_notifications",
]

# Longer than any sender lives while it holds a claim (the poller's Lambda stops after 60 s, an
# API function after 29 s; a Slack call gives up after seconds): past it, the sender is gone.
CLAIM_LEASE_SECONDS = 120

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
    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    id: int
    deployment_id: str
    kind: NotificationKind
    created_at: datetime
    attempts: int
    last_error: str | None
    sending_at: datetime | None = None
    next_attempt_at: datetime | None = None
    parked_at: datetime | None = None
    slack_ts: str | None = None
    due: bool = False  # may be sent now: not parked, past next_attempt_at, no live claim

    @property
    def may_have_reached_slack(self) -> bool:
        """An earlier attempt did not end in a recorded success, so Slack may hold its message anyway:
        its sender stopped mid-send (a claim left behind), or it failed in a way that can follow a
        post Slack carried out (a timeout, a 5xx, a reply lost on the way back)."""
        return self.sending_at is not None or self.last_error is not None


class ParkedNotification(BaseModel):
    """A parked row as an operator sees it (`idp outbox list`)."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    id: int
    deployment_id: str
    tenant: str
    app: str
    environment: str
    kind: NotificationKind
    slack_channel: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    parked_at: datetime
    held_back: int  # later rows of the same deployment waiting behind it


_NOTIFICATION_COLUMNS = (
    "id, deployment_id::text AS deployment_id, kind, created_at, attempts, last_error, sending_at, next_attempt_at,"
    " parked_at, slack_ts, (parked_at IS NULL AND next_attempt_at <= now() AND (sending_at IS NULL"
    " OR sending_at < now() - make_interval(secs => CAST(:lease AS double precision)))) AS due"
)


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
    db: Database,
    deployment_id: str | None = None,
    *,
    limit: int = 100,
    lease_seconds: float = CLAIM_LEASE_SECONDS,
) -> list[NotificationRecord]:
    """Unsent rows in id order (parked ones too): of one deployment, or of all deployments (None)."""
    rows = db.rows(
        f"SELECT {_NOTIFICATION_COLUMNS} FROM deployment_notifications WHERE sent_at IS NULL"
        " AND (CAST(:id AS uuid) IS NULL OR deployment_id = CAST(:id AS uuid)) ORDER BY id LIMIT :limit",
        id=deployment_id,
        limit=limit,
        lease=lease_seconds,
    )
    return [NotificationRecord.model_validate(r) for r in rows]


def deployments_with_unsent(db: Database, *, limit: int = 50, lease_seconds: float = CLAIM_LEASE_SECONDS) -> list[str]:
    """Deployments whose first unsent row is due, oldest row first: parked rows, rows backing off and
    rows being sent are skipped, so however many there are, they never starve the others."""
    rows = db.run(
        "SELECT deployment_id::text FROM ("
        " SELECT DISTINCT ON (deployment_id) deployment_id, id, parked_at, next_attempt_at, sending_at"
        " FROM deployment_notifications WHERE sent_at IS NULL ORDER BY deployment_id, id) AS head"
        " WHERE parked_at IS NULL AND next_attempt_at <= now() AND (sending_at IS NULL"
        " OR sending_at < now() - make_interval(secs => CAST(:lease AS double precision)))"
        " ORDER BY id LIMIT :limit",
        limit=limit,
        lease=lease_seconds,
    )
    return [str(r[0]) for r in rows]


def try_lock_notifications(db: Database, deployment_id: str) -> bool:
    """Takes the deployment's delivery lock until the transaction ends; False when another process holds it."""
    rows = db.run(
        "SELECT pg_try_advisory_xact_lock(hashtextextended(:text, 0))",
        text=f"deployment-notifications:{deployment_id}",
    )
    return bool(rows[0][0])


def claim(db: Database, notification_id: int) -> datetime:
    """Marks the row as being sent (sending_at = now(), attempts + 1); the caller commits this before
    calling Slack. Returns the claim's stamp, which the outcome functions below check."""
    rows = db.run(
        "UPDATE deployment_notifications SET sending_at = now(), attempts = attempts + 1"
        " WHERE id = :id AND sent_at IS NULL RETURNING sending_at",
        id=notification_id,
    )
    stamp = rows[0][0]
    assert isinstance(stamp, datetime)
    return stamp


def mark_sent(db: Database, notification_id: int, *, claimed_at: datetime, slack_ts: str | None) -> bool:
    """Records the row as sent, with the ts of the message it posted; False if the claim is no longer ours."""
    rows = db.run(
        "UPDATE deployment_notifications SET sent_at = now(), sending_at = NULL, last_error = NULL, slack_ts = :ts"
        " WHERE id = :id AND sending_at = :claimed RETURNING id",
        id=notification_id,
        claimed=claimed_at,
        ts=slack_ts,
    )
    return bool(rows)


def mark_failed(
    db: Database, notification_id: int, error: str, *, claimed_at: datetime, retry_in_seconds: float
) -> bool:
    """Records the failure; the row is due again `retry_in_seconds` from now. False if the claim is no longer ours."""
    rows = db.run(
        "UPDATE deployment_notifications SET sending_at = NULL, last_error = :error,"
        " next_attempt_at = now() + make_interval(secs => CAST(:delay AS double precision))"
        " WHERE id = :id AND sending_at = :claimed RETURNING id",
        id=notification_id,
        claimed=claimed_at,
        error=error[:1000],
        delay=retry_in_seconds,
    )
    return bool(rows)


def park(db: Database, notification_id: int, error: str, *, claimed_at: datetime | None = None) -> bool:
    """Parks an unsent row (with its claim `claimed_at`, if given): no pass sends it until `requeue`."""
    rows = db.run(
        "UPDATE deployment_notifications SET sending_at = NULL, parked_at = now(), last_error = :error"
        " WHERE id = :id AND sent_at IS NULL"
        " AND (CAST(:claimed AS timestamptz) IS NULL OR sending_at = CAST(:claimed AS timestamptz)) RETURNING id",
        id=notification_id,
        claimed=claimed_at,
        error=error[:1000],
    )
    return bool(rows)


def parked_notifications(db: Database, *, limit: int = 100) -> list[ParkedNotification]:
    """Parked rows, oldest first, with their deployment's tenant, app, environment and channel."""
    rows = db.rows(
        "SELECT n.id, n.deployment_id::text AS deployment_id, t.name AS tenant, a.name AS app, d.environment,"
        " n.kind, d.slack_channel, n.attempts, n.last_error, n.created_at, n.parked_at,"
        " (SELECT count(*) FROM deployment_notifications w WHERE w.deployment_id = n.deployment_id"
        "  AND w.sent_at IS NULL AND w.id > n.id) AS held_back"
        " FROM deployment_notifications n JOIN deployments d ON d.id = n.deployment_id"
        " JOIN tenants t ON t.id = d.tenant_id JOIN apps a ON a.id = d.app_id"
        " WHERE n.sent_at IS NULL AND n.parked_at IS NOT NULL ORDER BY n.id LIMIT :limit",
        limit=limit,
    )
    return [ParkedNotification.model_validate(r) for r in rows]


def count_parked(db: Database) -> int:
    return int(
        db.run("SELECT count(*) FROM deployment_notifications WHERE sent_at IS NULL AND parked_at IS NOT NULL")[0][0]
    )


def requeue(db: Database, ids: list[int] | None = None) -> list[int]:
    """Makes parked rows due again with a fresh retry budget (attempts = 0): the ones in `ids`, or all
    (None). Their last_error stays, so the next sender looks in Slack before posting. The ids requeued."""
    rows = db.run(
        "UPDATE deployment_notifications SET parked_at = NULL, attempts = 0, next_attempt_at = now()"
        " WHERE sent_at IS NULL AND parked_at IS NOT NULL"
        " AND (CAST(:all AS boolean) OR id = ANY(CAST(:ids AS bigint[]))) RETURNING id",
        all=ids is None,
        ids=list(ids or []),
    )
    return sorted(int(r[0]) for r in rows)


def set_slack_message(db: Database, deployment_id: str, channel: str, ts: str) -> None:
    db.run(
        "UPDATE deployments SET slack_channel = :channel, slack_ts = :ts, updated_at = now()"
        " WHERE id = CAST(:id AS uuid)",
        id=deployment_id,
        channel=channel,
        ts=ts,
    )
