"""Sending the deployment outbox (`deployment_notifications`) to Slack.

The flows write a row for every change worth telling (in the transaction of the change) and
call `Notifier.deliver` after commit; the poller calls it again on every pass, so a row that
Slack refused is sent later. Per deployment, rows go out in id order, once each:

- the first row posts the deployment's main message to its `slack_channel` (with Approve /
  Reject while an approval is pending) and records the message's ts;
- `approved` / `rejected` / `expired` update that message in place (who decided, when;
  no buttons any more);
- `started` / `succeeded` / `failed` update it and reply in its thread.

The main message is always rendered from the deployment as it is now, so a late or
repeated update never shows an old state; an update is skipped when a later row of the same
deployment is already queued (it will update the message anyway).

Two processes never send one deployment's rows at once: each row is sent in its own short
transaction holding the deployment's delivery lock (`outbox.try_lock_notifications`); a
process that cannot take it leaves the deployment to the one that holds it. A Slack
failure records `attempts` and `last_error` on the row and stops that deployment (its later
rows wait, to keep the order); other deployments go on. A row that failed `MAX_ATTEMPTS`
times is left alone (its `last_error` says why).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from idp.clients.slack import SlackClient, SlackError
from idp.db import Database
from idp.deploy import outbox, service
from idp.deploy.outbox import NotificationRecord
from idp.deploy.service import DeploymentRecord
from idp.observability import logger
from idp.slack_messages import THREAD_KINDS, ThreadKind, main_message, thread_message

if TYPE_CHECKING:
    from idp.config import Settings

__all__ = ["MAX_ATTEMPTS", "Notifier", "SlackNotifier", "notifier_from_settings"]

MAX_ATTEMPTS = 50  # a few minutes of poller passes; then the row waits for a person
_BATCH = 200  # deployments looked at per deliver() over all deployments
_ROWS_PER_DEPLOYMENT = 50  # rows sent for one deployment per deliver()
_THREAD_KINDS: dict[str, ThreadKind] = {kind: kind for kind in THREAD_KINDS}


class Notifier(Protocol):
    def deliver(self, db: Database, deployment_id: str | None = None) -> int:
        """Sends the unsent notifications (of one deployment, or all); how many were sent."""
        ...


class SlackNotifier:
    """Delivers the outbox through `client` (the platform's bot)."""

    def __init__(self, client: SlackClient) -> None:
        self.client = client

    def deliver(self, db: Database, deployment_id: str | None = None) -> int:
        ids = [deployment_id] if deployment_id else outbox.deployments_with_unsent(db, limit=_BATCH)
        return sum(self._deliver_deployment(db, one) for one in ids)

    def _deliver_deployment(self, db: Database, deployment_id: str) -> int:
        sent = 0
        for _ in range(_ROWS_PER_DEPLOYMENT):
            with db.transaction():
                if not outbox.try_lock_notifications(db, deployment_id):
                    return sent  # another process is sending this deployment's rows
                pending = outbox.unsent_notifications(db, deployment_id, limit=2)
                record = service.get_deployment(db, deployment_id)
                if not pending or record is None:
                    return sent
                row = pending[0]
                if row.attempts >= MAX_ATTEMPTS:
                    return sent
                error = self._send(db, record, row, more_queued=len(pending) > 1)
                if error is None:
                    outbox.mark_sent(db, row.id)
                else:
                    outbox.mark_failed(db, row.id, error)
            if error is not None:
                return sent  # later rows wait for this one (order), until the next pass
            sent += 1
        return sent

    def _send(
        self, db: Database, record: DeploymentRecord, row: NotificationRecord, *, more_queued: bool
    ) -> str | None:
        """Sends one row; None when done, else the error to record (the row stays unsent)."""
        try:
            self._post(db, record, row, more_queued=more_queued)
        except SlackError as exc:
            logger.warning(
                "slack notification not sent",
                extra={
                    "deployment_id": record.id,
                    "notification_id": row.id,
                    "kind": row.kind,
                    "slack_error": exc.slack_error,
                    "http_status": exc.http_status,
                    "attempts": row.attempts + 1,
                },
            )
            return exc.message
        except Exception as exc:  # a bug must not stop the poller nor fail the request that changed the state
            logger.exception("slack notification failed", extra={"deployment_id": record.id, "notification_id": row.id})
            return f"{type(exc).__name__}: {exc}"
        return None

    def _post(self, db: Database, record: DeploymentRecord, row: NotificationRecord, *, more_queued: bool) -> None:
        if record.slack_channel is None:
            raise SlackError("the deployment has no Slack channel", slack_error="no_channel")
        deployment = record.read()
        main = main_message(deployment)
        if record.slack_ts is None:
            ts = self.client.post_message(record.slack_channel, main.text, main.blocks)
            # Recorded at once: if a thread reply below fails, the retry must not post a second main message.
            outbox.set_slack_message(db, record.id, record.slack_channel, ts)
        else:
            ts = record.slack_ts
            if not more_queued:
                self.client.update_message(record.slack_channel, ts, main.text, main.blocks)
        thread_kind = _THREAD_KINDS.get(row.kind)
        if thread_kind is not None:
            reply = thread_message(deployment, thread_kind)
            self.client.post_message(record.slack_channel, reply.text, reply.blocks, thread_ts=ts)


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
