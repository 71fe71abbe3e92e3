"""Sending the deployment outbox (`deployment_notifications`) to Slack.

The flows write a row for every change worth telling (in the transaction of the change) and
call `Notifier.deliver` after commit; the poller calls it again on every pass, so a row whose
sending failed is retried later. Per deployment, rows go out in id order:

- the first row posts the deployment's main message to its `slack_channel` (with Approve /
  Reject while an approval is pending) and records the message's ts;
- `approved` / `rejected` / `expired` update that message in place (who decided, when;
  no buttons any more);
- `started` / `succeeded` / `failed` update it and reply in its thread.

The main message is always rendered from the deployment as it is now, so a late or
repeated update never shows an old state; an update is skipped when a later row of the same
deployment is already queued (it will update the message anyway).

What is guaranteed: every row is delivered at least once, and not twice where Slack lets us look.
A row is claimed (`outbox.claim`: sending_at, attempts + 1) in its own committed transaction,
under the deployment's delivery lock (`outbox.try_lock_notifications`), before Slack is called;
no transaction is open while Slack answers; the outcome is committed after. So a sender that
stops between Slack's answer and that commit (a crash, a Lambda timeout) leaves a claim behind,
and others leave the row alone for `outbox.CLAIM_LEASE_SECONDS`. The next sender, seeing a row
that may have reached Slack (`NotificationRecord.may_have_reached_slack`: a claim left behind, or
an earlier failure, which may have been a timeout after Slack posted), looks before it posts:

- every message carries Slack message metadata naming it (`EVENT_MAIN`: the deployment id;
  `EVENT_UPDATE`: the row id too); the main message is looked for in the channel's history
  (`conversations.history` since the request, at most `SlackClient.MAX_PAGES` pages) and a
  thread reply among the main message's replies (`conversations.replies`); found, it is not
  posted again;
- `chat.update` renders the deployment as it is now, so repeating it is harmless;
- the main message's ts is committed the moment Slack gives it, before anything else is sent.

Where Slack does not let us look (`missing_scope`: the bot lacks channels:history /
groups:history; `not_in_channel`), the message is posted again: at least once, possibly twice.

A failure stops that deployment (its later rows wait, to keep the order); other deployments go
on. A permanent Slack error (`PERMANENT_SLACK_ERRORS`: the channel is gone or closed to the bot,
the message is refused as it is) parks the row at once; any other failure is retried after
`retry_delay(attempts)` (exponential, capped at `BACKOFF_CAP_SECONDS`) and parks the row after
`MAX_ATTEMPTS`. Parked rows are skipped by every pass, so they never hold up other deployments,
until an operator requeues them (`idp outbox list`, `idp outbox requeue`); the poller reports
how many there are (`DeploymentNotificationsParked`, with an alarm on it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from idp.clients.slack import SlackClient, SlackError
from idp.db import Database
from idp.deploy import outbox, service
from idp.deploy.outbox import NotificationRecord
from idp.deploy.service import DeploymentRecord
from idp.observability import logger
from idp.slack_messages import THREAD_KINDS, ThreadKind, main_message, thread_message

if TYPE_CHECKING:
    from idp.config import Settings

__all__ = [
    "BACKOFF_CAP_SECONDS",
    "EVENT_MAIN",
    "EVENT_UPDATE",
    "MAX_ATTEMPTS",
    "PERMANENT_SLACK_ERRORS",
    "Notifier",
    "SlackNotifier",
    "notifier_from_settings",
    "retry_delay",
]

BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 600.0
MAX_ATTEMPTS = 20  # 10 s, 20 s, ... then every 10 minutes: about 2 h 20 min; then a person
# Errors that no retry mends: the channel is gone or closed to the bot, or Slack refuses the
# message as it is (or the message to update or reply to is gone). Each parks its row at once.
PERMANENT_SLACK_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "thread_not_found",
        "cannot_reply_to_message",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "no_channel",  # ours: the deployment has no channel
    }
)
EVENT_MAIN = "idp_deployment"  # metadata of a deployment's main message: {deployment_id}
EVENT_UPDATE = "idp_deployment_update"  # of a thread reply: {deployment_id, notification_id, kind}
_CANNOT_LOOK = frozenset({"missing_scope", "not_in_channel"})  # the bot may not read the channel
HISTORY_SKEW = timedelta(minutes=10)  # Slack's clock against the database's, when searching the history
_BATCH = 200  # deployments looked at per deliver() over all deployments
_ROWS_PER_DEPLOYMENT = 50  # rows sent for one deployment per deliver()
_THREAD_KINDS: dict[str, ThreadKind] = {kind: kind for kind in THREAD_KINDS}


class Notifier(Protocol):
    def deliver(self, db: Database, deployment_id: str | None = None) -> int:
        """Sends the unsent notifications (of one deployment, or all); how many were sent."""
        ...


def retry_delay(attempts: int) -> float:
    """Seconds before a row that failed `attempts` times is tried again: 10, 20, 40, ... at most 600."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(max(attempts - 1, 0), 30))


@dataclass(frozen=True)
class _Claim:
    row: NotificationRecord  # as it was before the claim
    claimed_at: datetime
    record: DeploymentRecord
    more_queued: bool


@dataclass(frozen=True)
class _Failure:
    message: str
    permanent: bool


def _metadata(event_type: str, **payload: Any) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": payload}


class SlackNotifier:
    """Delivers the outbox through `client` (the platform's bot)."""

    def __init__(self, client: SlackClient) -> None:
        self.client = client

    def deliver(self, db: Database, deployment_id: str | None = None) -> int:
        if db.in_transaction:
            raise RuntimeError("deliver() runs outside a transaction: each claim must commit before Slack is called")
        ids = [deployment_id] if deployment_id else outbox.deployments_with_unsent(db, limit=_BATCH)
        return sum(self._deliver_deployment(db, one) for one in ids)

    def _deliver_deployment(self, db: Database, deployment_id: str) -> int:
        sent = 0
        for _ in range(_ROWS_PER_DEPLOYMENT):
            claim = self._claim(db, deployment_id)
            if claim is None:
                return sent
            outcome = self._send(db, claim)  # no transaction open: Slack may be slow
            with db.transaction():
                if isinstance(outcome, _Failure):
                    self._record_failure(db, claim, outcome)
                elif not outbox.mark_sent(db, claim.row.id, claimed_at=claim.claimed_at, slack_ts=outcome):
                    # Past the lease another sender took the row over; it looks in Slack before posting.
                    logger.warning("slack notification claim lost", extra={"notification_id": claim.row.id})
            if isinstance(outcome, _Failure):
                return sent  # later rows wait for this one (order)
            sent += 1
        return sent

    def _claim(self, db: Database, deployment_id: str) -> _Claim | None:
        """Claims the deployment's first unsent row if it is due; committed before this returns."""
        with db.transaction():
            if not outbox.try_lock_notifications(db, deployment_id):
                return None  # another process is claiming this deployment's rows
            pending = outbox.unsent_notifications(db, deployment_id, limit=2)
            record = service.get_deployment(db, deployment_id)
            if not pending or record is None or not pending[0].due:
                return None  # nothing to send; or parked, backing off, or being sent by another process
            row = pending[0]
            if row.attempts >= MAX_ATTEMPTS:
                # Failures park at MAX_ATTEMPTS: only a row whose senders kept stopping mid-send gets here.
                reason = row.last_error or "its sender stopped while sending it"
                outbox.park(db, row.id, f"not sent after {row.attempts} attempts ({reason})")
                return None
            claimed_at = outbox.claim(db, row.id)
        return _Claim(row, claimed_at, record, more_queued=len(pending) > 1)

    def _record_failure(self, db: Database, claim: _Claim, failure: _Failure) -> None:
        attempts = claim.row.attempts + 1
        if failure.permanent or attempts >= MAX_ATTEMPTS:
            outbox.park(db, claim.row.id, failure.message, claimed_at=claim.claimed_at)
            logger.warning(
                "slack notification parked",
                extra={
                    "deployment_id": claim.record.id,
                    "notification_id": claim.row.id,
                    "attempts": attempts,
                    "error": failure.message,
                },
            )
        else:
            delay = retry_delay(attempts)
            outbox.mark_failed(db, claim.row.id, failure.message, claimed_at=claim.claimed_at, retry_in_seconds=delay)

    def _send(self, db: Database, claim: _Claim) -> str | _Failure:
        """Sends one row; the ts to record, or the failure."""
        record, row = claim.record, claim.row
        try:
            return self._post(db, record, row, more_queued=claim.more_queued)
        except SlackError as exc:
            permanent = exc.slack_error in PERMANENT_SLACK_ERRORS
            logger.warning(
                "slack notification not sent",
                extra={
                    "deployment_id": record.id,
                    "notification_id": row.id,
                    "kind": row.kind,
                    "slack_error": exc.slack_error,
                    "http_status": exc.http_status,
                    "attempts": row.attempts + 1,
                    "permanent": permanent,
                },
            )
            return _Failure(exc.message, permanent)
        except Exception as exc:  # a bug must not stop the poller nor fail the request that changed the state
            logger.exception("slack notification failed", extra={"deployment_id": record.id, "notification_id": row.id})
            return _Failure(f"{type(exc).__name__}: {exc}", permanent=False)

    def _post(self, db: Database, record: DeploymentRecord, row: NotificationRecord, *, more_queued: bool) -> str:
        """The Slack calls of one row; the ts of the message it posted (its reply, else the main message)."""
        channel = record.slack_channel
        if channel is None:
            raise SlackError("the deployment has no Slack channel", slack_error="no_channel")
        deployment = record.read()
        main = main_message(deployment)
        look_first = row.may_have_reached_slack
        main_marker = _metadata(EVENT_MAIN, deployment_id=record.id)
        ts = record.slack_ts
        found = None
        if ts is None:
            if look_first:
                found = self._find(channel, main_marker, oldest=record.requested_at - HISTORY_SKEW)
            ts = found or self.client.post_message(channel, main.text, main.blocks, metadata=main_marker)
            # Committed at once (no transaction is open): whatever fails or stops next, no second main message.
            outbox.set_slack_message(db, record.id, channel, ts)
        if (found is not None or record.slack_ts is not None) and not more_queued:
            self.client.update_message(channel, ts, main.text, main.blocks, metadata=main_marker)
        thread_kind = _THREAD_KINDS.get(row.kind)
        if thread_kind is None:
            return ts
        marker = _metadata(EVENT_UPDATE, deployment_id=record.id, notification_id=row.id, kind=row.kind)
        reply_ts = self._find(channel, marker, thread_ts=ts) if look_first else None
        if reply_ts is None:
            reply = thread_message(deployment, thread_kind)
            reply_ts = self.client.post_message(channel, reply.text, reply.blocks, thread_ts=ts, metadata=marker)
        return reply_ts

    def _find(
        self, channel: str, metadata: dict[str, Any], *, thread_ts: str | None = None, oldest: datetime | None = None
    ) -> str | None:
        """The ts of our message carrying `metadata`, if Slack has it. Where Slack does not let us look
        (`_CANNOT_LOOK`), None: the message is posted again (at least once, possibly twice)."""
        try:
            return self.client.find_message(
                channel,
                metadata["event_type"],
                metadata["event_payload"],
                thread_ts=thread_ts,
                oldest=oldest.timestamp() if oldest is not None else None,
            )
        except SlackError as exc:
            if exc.slack_error not in _CANNOT_LOOK:
                raise
            logger.warning(
                "cannot look for an earlier copy in Slack; posting again",
                extra={"channel": channel, "metadata": metadata, "slack_error": exc.slack_error},
            )
            return None


_lock = threading.Lock()
_cached: tuple[Settings, SlackNotifier] | None = None


def notifier_from_settings(settings: Settings) -> Notifier | None:
    """The Slack notifier for these settings (one per container); None without a bot token."""
    global _cached
    if settings.slack_bot_token is None and not settings.slack_bot_token_secret_id:
        return None
    with _lock:
        if _cached is None or _cached[0] is not settings:
            client = SlackClient(settings.resolved_slack_bot_token, base_url=settings.slack_api_url)
            _cached = (settings, SlackNotifier(client))
        return _cached[1]
