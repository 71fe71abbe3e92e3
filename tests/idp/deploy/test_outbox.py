"""What the Slack outbox guarantees, shown on real PostgreSQL and the Slack emulator over HTTP:
at least once, never twice where Slack lets us look (a sender dying between Slack's answer and
its commit), back-off, parking, the poller's pass never starving behind parked rows, requeue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.clients.argocd import ArgoCdClient
from idp.clients.slack import SlackClient
from idp.db import Database
from idp.deploy import outbox, service
from idp.deploy.notifications import (
    BACKOFF_CAP_SECONDS,
    EVENT_MAIN,
    EVENT_UPDATE,
    MAX_ATTEMPTS,
    SlackNotifier,
    retry_delay,
)
from idp.deploy.outbox import CLAIM_LEASE_SECONDS, NotificationKind
from idp.deploy.policy import DeployConfig
from idp.deploy.tracking import poll_once
from idp_local.emulators.slack import SlackEmulator

CHANNEL = "C0APPROVALS"
GONE = "C0GONE"  # a channel Slack answers channel_not_found for (fail_next)


class ProcessDied(BaseException):
    """Stands for the sender's process ending (a crash, a Lambda timeout): no handler of ours runs after it."""


class DiesAfterSlackAnswers(SlackClient):
    """Our Slack client, whose process dies right after Slack has carried out one chosen call."""

    def __init__(self, slack: SlackEmulator, *, call: str) -> None:
        super().__init__(slack.bot_token, base_url=slack.api_url)
        self.call = call  # "main" (posting the main message), "reply" (in its thread) or "update"

    def post_message(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        ts = super().post_message(channel, text, blocks, thread_ts, metadata=metadata)
        if self.call == ("reply" if thread_ts else "main"):
            raise ProcessDied
        return ts

    def update_message(
        self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]], *, metadata: dict[str, Any] | None = None
    ) -> None:
        super().update_message(channel, ts, text, blocks, metadata=metadata)
        if self.call == "update":
            raise ProcessDied


@pytest.fixture
def other_process(database_url: str, database_schema: str) -> Iterator[Database]:
    """A second connection: the sender that dies has its own process, hence its own connection."""
    connection = Database(database_url, schema=database_schema)
    yield connection
    connection.close()


def _deployment(db: Database, *, app: str = "web", channel: str = CHANNEL, approval: bool = True) -> str:
    """A deployment of tenant "payments" (pending approval, or approved) with its `requested` row."""
    tenant = db.row("SELECT id::text FROM tenants WHERE name = 'payments'") or db.row(
        "INSERT INTO tenants (name, display_name, environments, quotas, status, created_by) VALUES"
        " ('payments', 'Payments', '[\"dev\", \"prod\"]', '{}', 'ready', 'alice@example.com') RETURNING id::text"
    )
    assert tenant is not None
    app_row = db.row(
        "INSERT INTO apps (tenant_id, name, repo_url, path, environments, status, created_by) VALUES"
        " (CAST(:tenant AS uuid), :name, 'https://github.com/acme/web', '.', '[\"prod\"]', 'ready',"
        " 'alice@example.com') RETURNING id::text",
        tenant=tenant["id"],
        name=app,
    )
    assert app_row is not None
    record = service.insert_deployment(
        db,
        tenant_id=tenant["id"],
        app_id=app_row["id"],
        environment="prod",
        kind="deploy",
        revision="abc123",
        previous_revision=None,
        state="pending_approval" if approval else "approved",
        requested_by="alice@example.com",
        requested_via="slack",
        approval_ttl_seconds=3600 if approval else None,
        slack_channel=channel,
        idempotency_key=None,
        request_fingerprint=None,
    )
    assert outbox.enqueue(db, record.id, "requested")
    return record.id


def _queue(db: Database, deployment_id: str, kind: NotificationKind) -> None:
    assert outbox.enqueue(db, deployment_id, kind)


def _rows(db: Database) -> list[dict[str, Any]]:
    return db.rows(
        "SELECT id, kind, attempts, last_error, sent_at, sending_at, parked_at, slack_ts,"
        " extract(epoch FROM next_attempt_at - now()) AS wait FROM deployment_notifications ORDER BY id"
    )


def _leave_the_lease(db: Database) -> None:
    """Moves time past the lease of every claim (the dead sender's)."""
    db.run(
        "UPDATE deployment_notifications SET sending_at = sending_at - make_interval(secs => :s)"
        " WHERE sending_at IS NOT NULL",
        s=CLAIM_LEASE_SECONDS + 1,
    )


def _top_level(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages() if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]


# -- at least once, and not twice: a sender dying between Slack's answer and its commit ----------
def test_a_sender_dying_after_slack_posted_the_main_message_never_posts_it_twice(
    db: Database, other_process: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db)
    with pytest.raises(ProcessDied):
        SlackNotifier(DiesAfterSlackAnswers(slack, call="main")).deliver(other_process, deployment_id)
    assert not other_process.in_transaction  # Slack was called with the claim committed, nothing open
    (main,) = _top_level(slack)
    assert main["metadata"] == {"event_type": EVENT_MAIN, "event_payload": {"deployment_id": deployment_id}}
    (row,) = _rows(db)
    assert row["sent_at"] is None and row["sending_at"] is not None and row["attempts"] == 1
    record = service.get_deployment(db, deployment_id)
    assert record is not None and record.slack_ts is None  # the dead sender never recorded it

    # Within the lease, the row is the dead sender's: nobody touches it.
    assert notifier.deliver(db) == 0 and notifier.deliver(db, deployment_id) == 0
    assert len(slack.calls()) == 1

    _leave_the_lease(db)
    assert notifier.deliver(db) == 1
    # Found in the channel's history, not posted again; brought up to date in place.
    assert [m["ts"] for m in _top_level(slack)] == [main["ts"]]
    assert [c.method for c in slack.calls()][1:] == ["conversations.history", "chat.update"]
    record = service.get_deployment(db, deployment_id)
    assert record is not None and record.slack_ts == main["ts"]
    (row,) = _rows(db)
    assert row["sent_at"] is not None and row["sending_at"] is None and row["slack_ts"] == main["ts"]


def test_a_sender_dying_after_slack_posted_a_thread_reply_never_posts_it_twice(
    db: Database, other_process: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db, approval=False)
    assert notifier.deliver(db) == 1
    assert service.mark_syncing(db, deployment_id) is not None
    _queue(db, deployment_id, "started")
    with pytest.raises(ProcessDied):
        SlackNotifier(DiesAfterSlackAnswers(slack, call="reply")).deliver(other_process, deployment_id)
    (main,) = _top_level(slack)
    (reply,) = [m for m in slack.messages() if m.get("thread_ts") == main["ts"]]
    started = _rows(db)[1]
    assert reply["metadata"]["event_type"] == EVENT_UPDATE
    assert reply["metadata"]["event_payload"]["notification_id"] == started["id"]

    _leave_the_lease(db)
    assert notifier.deliver(db) == 1
    assert [m["ts"] for m in slack.messages() if m.get("thread_ts") == main["ts"]] == [reply["ts"]]
    assert len(slack.calls("conversations.replies")) == 1
    assert _rows(db)[1]["slack_ts"] == reply["ts"] and _rows(db)[1]["sent_at"] is not None


def test_a_sender_dying_after_an_update_only_repeats_the_update(
    db: Database, other_process: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db)
    assert notifier.deliver(db) == 1
    assert service.decide(db, deployment_id, state="approved", decided_by="bob@example.com", comment=None)
    _queue(db, deployment_id, "approved")
    with pytest.raises(ProcessDied):
        SlackNotifier(DiesAfterSlackAnswers(slack, call="update")).deliver(other_process, deployment_id)

    _leave_the_lease(db)
    assert notifier.deliver(db) == 1
    (main,) = _top_level(slack)
    assert len(slack.calls("chat.update")) == 2 and len(slack.calls("chat.postMessage")) == 1  # idempotent
    assert "Approved by" in str(main["blocks"]) and main["metadata"]["event_type"] == EVENT_MAIN


@pytest.mark.parametrize("refusal", ["missing_scope", "not_in_channel"])
def test_where_slack_does_not_let_us_look_a_possibly_sent_message_is_posted_again(
    db: Database, other_process: Database, slack: SlackEmulator, notifier: SlackNotifier, refusal: str
) -> None:
    """The documented limit: where Slack does not let the bot look, delivery is at least once."""
    deployment_id = _deployment(db)
    with pytest.raises(ProcessDied):
        SlackNotifier(DiesAfterSlackAnswers(slack, call="main")).deliver(other_process, deployment_id)
    _leave_the_lease(db)
    slack.fail_next("conversations.history", error=refusal)
    assert notifier.deliver(db) == 1
    assert len(_top_level(slack)) == 2


# -- back-off and parking -----------------------------------------------------------------
def test_failures_back_off_exponentially_up_to_a_cap(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    assert [retry_delay(n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 320, 600]
    assert retry_delay(MAX_ATTEMPTS) == retry_delay(10_000) == BACKOFF_CAP_SECONDS

    _deployment(db)
    slack.fail_next("chat.postMessage", error="internal_error", status=500, count=2)
    assert notifier.deliver(db) == 0
    (row,) = _rows(db)
    assert row["attempts"] == 1 and 8 < row["wait"] <= 10 and row["parked_at"] is None
    assert notifier.deliver(db) == 0  # not due yet: Slack is not asked
    assert len(slack.calls()) == 1

    db.run("UPDATE deployment_notifications SET next_attempt_at = now()")
    assert notifier.deliver(db) == 0
    (row,) = _rows(db)
    assert row["attempts"] == 2 and 18 < row["wait"] <= 20
    # The retry looked for an earlier copy first: the failed post may have gone through.
    assert [c.method for c in slack.calls()][-2:] == ["conversations.history", "chat.postMessage"]


def test_a_permanent_slack_error_parks_the_row_at_once_and_holds_only_its_deployment(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    gone = _deployment(db, app="gone", channel=GONE)
    _queue(db, gone, "expired")
    slack.fail_next("chat.postMessage", error="channel_not_found")
    fine = _deployment(db, app="fine")
    assert notifier.deliver(db) == 1  # the other deployment's message
    requested, expired, _ = _rows(db)
    assert requested["attempts"] == 1 and requested["parked_at"] is not None
    assert "channel_not_found" in requested["last_error"]
    assert expired["parked_at"] is None and expired["attempts"] == 0  # waits behind it (order)

    assert notifier.deliver(db) == 0 and notifier.deliver(db, gone) == 0
    assert len(slack.calls("chat.postMessage")) == 2
    (parked,) = outbox.parked_notifications(db)
    assert (parked.deployment_id, parked.tenant, parked.app, parked.slack_channel) == (gone, "payments", "gone", GONE)
    assert parked.kind == "requested" and parked.held_back == 1
    assert outbox.count_parked(db) == 1
    assert fine not in {p.deployment_id for p in outbox.parked_notifications(db)}


def test_a_row_that_keeps_failing_is_parked_after_max_attempts(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    _deployment(db)
    db.run("UPDATE deployment_notifications SET attempts = :n, last_error = 'ratelimited'", n=MAX_ATTEMPTS - 1)
    slack.fail_next("conversations.history", error="internal_error", status=503)
    assert notifier.deliver(db) == 0
    (row,) = _rows(db)
    assert row["attempts"] == MAX_ATTEMPTS and row["parked_at"] is not None and "internal_error" in row["last_error"]


def test_two_hundred_parked_rows_never_starve_a_new_deployment(
    db: Database, argo: ArgoCdClient, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    for i in range(200):
        _deployment(db, app=f"app{i}", channel=GONE)
    slack.fail_next("chat.postMessage", error="channel_not_found", count=200)
    first = poll_once(db, argo, notifier, config=DeployConfig())
    assert first.notifications_sent == 0 and first.notifications_parked == 200

    slack.reset()
    new = _deployment(db, app="new")
    second = poll_once(db, argo, notifier, config=DeployConfig())
    assert second.notifications_sent == 1 and second.notifications_parked == 200
    (call,) = slack.calls()  # the parked rows were not even looked at
    assert call.method == "chat.postMessage" and call.args["channel"] == CHANNEL
    record = service.get_deployment(db, new)
    assert record is not None and record.slack_ts == call.response["ts"]


# -- requeue ------------------------------------------------------------------------------
def test_a_requeued_row_is_sent_by_the_next_pass(db: Database, slack: SlackEmulator, notifier: SlackNotifier) -> None:
    deployment_id = _deployment(db)
    _queue(db, deployment_id, "rejected")
    slack.fail_next("chat.postMessage", error="not_in_channel")
    assert notifier.deliver(db) == 0
    (parked,) = outbox.parked_notifications(db)
    other = _deployment(db, app="api")
    db.run("UPDATE deployment_notifications SET parked_at = now() WHERE deployment_id = CAST(:id AS uuid)", id=other)

    with db.transaction():
        assert outbox.requeue(db, [parked.id, 999_999]) == [parked.id]
    assert outbox.count_parked(db) == 1
    assert notifier.deliver(db) == 2  # the requeued row, then the one held behind it
    assert len(_top_level(slack)) == 1
    still_parked = [r["id"] for r in _rows(db) if r["parked_at"] is not None]
    with db.transaction():
        assert outbox.requeue(db) == still_parked
    assert outbox.count_parked(db) == 0
    assert notifier.deliver(db) == 1 and len(_top_level(slack)) == 2
    assert all(r["sent_at"] is not None for r in _rows(db))
