"""The deployment outbox sent to Slack: real PostgreSQL, the Slack emulator over HTTP, our Slack client."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Literal

import pytest

from idp.clients.slack import SlackClient, SlackError
from idp.config import Settings
from idp.db import Database
from idp.deploy import outbox, service
from idp.deploy.notifications import MAX_ATTEMPTS, SlackNotifier, notifier_from_settings
from idp.deploy.outbox import NotificationKind
from idp.slack_messages import APPROVE_ACTION_ID, REJECT_ACTION_ID, main_message, thread_message
from idp_local.emulators.slack import SlackEmulator, render_text

CHANNEL = "C0APPROVALS"


def _deployment(
    db: Database,
    *,
    tenant: str = "payments",
    app: str = "web",
    approval: bool = True,
    channel: str | None = CHANNEL,
    requested_by: str = "alice@example.com",
) -> str:
    """A tenant, an app and a deployment of it (pending approval or approved), with its `requested` row."""
    tenant_id = db.row("SELECT id::text FROM tenants WHERE name = :name", name=tenant) or db.row(
        "INSERT INTO tenants (name, display_name, environments, quotas, status, created_by)"
        " VALUES (:name, :name, '[\"dev\", \"prod\"]', '{}', 'ready', 'alice@example.com') RETURNING id::text",
        name=tenant,
    )
    assert tenant_id is not None
    app_id = db.row(
        "INSERT INTO apps (tenant_id, name, repo_url, path, environments, status, created_by)"
        " VALUES (CAST(:tenant AS uuid), :name, 'https://github.com/acme/web', '.', '[\"dev\", \"prod\"]', 'ready',"
        " 'alice@example.com') RETURNING id::text",
        tenant=tenant_id["id"],
        name=app,
    )
    assert app_id is not None
    record = service.insert_deployment(
        db,
        tenant_id=tenant_id["id"],
        app_id=app_id["id"],
        environment="prod",
        kind="deploy",
        revision="abc123",
        previous_revision="0ld",
        state="pending_approval" if approval else "approved",
        requested_by=requested_by,
        requested_via="slack",
        approval_ttl_seconds=3600 if approval else None,
        slack_channel=channel,
        idempotency_key=None,
        request_fingerprint=None,
    )
    outbox.enqueue(db, record.id, "requested")
    return record.id


def _queue(db: Database, deployment_id: str, kind: NotificationKind) -> None:
    assert outbox.enqueue(db, deployment_id, kind)


def _approve(db: Database, deployment_id: str, by: str = "bob@example.com", comment: str | None = None) -> None:
    assert service.decide(db, deployment_id, state="approved", decided_by=by, comment=comment) is not None
    _queue(db, deployment_id, "approved")


def _start(db: Database, deployment_id: str) -> None:
    assert service.mark_syncing(db, deployment_id) is not None
    _queue(db, deployment_id, "started")


def _finish(
    db: Database, deployment_id: str, state: Literal["succeeded", "failed"], message: str | None = None
) -> None:
    done = service.finish(db, deployment_id, state=state, message=message, deployed_revision="abc123")
    assert done is not None
    _queue(db, deployment_id, state)


def _main(slack: SlackEmulator) -> dict[str, Any]:
    (main,) = [m for m in slack.messages() if not m.get("thread_ts")]
    return main


def _thread(slack: SlackEmulator, ts: str) -> list[str]:
    return [render_text(m).replace("*", "") for m in slack.messages() if m.get("thread_ts") == ts]


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def _unsent(db: Database) -> list[dict[str, Any]]:
    return db.rows("SELECT kind, attempts, last_error FROM deployment_notifications WHERE sent_at IS NULL ORDER BY id")


def _due_now(db: Database) -> None:
    """Moves time past every back-off: rows that failed are due again."""
    db.run("UPDATE deployment_notifications SET next_attempt_at = now() WHERE sent_at IS NULL")


def test_the_approval_message_is_posted_once_with_buttons_carrying_only_the_id(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db)
    assert notifier.deliver(db, deployment_id) == 1
    main = _main(slack)
    assert main["channel"] == CHANNEL
    text = render_text(main)
    assert "alice@example.com asks to deploy `payments/web` revision `abc123` to prod" in text.replace("*", "")
    assert "[Approve] [Reject]" in text and "expires" in text
    buttons = _buttons(main)
    assert [(b["action_id"], b["value"], b["style"]) for b in buttons] == [
        (APPROVE_ACTION_ID, deployment_id, "primary"),
        (REJECT_ACTION_ID, deployment_id, "danger"),
    ]
    record = service.get_deployment(db, deployment_id)
    assert record is not None and record.slack_ts == main["ts"] and record.slack_channel == CHANNEL

    assert notifier.deliver(db, deployment_id) == 0
    assert notifier.deliver(db) == 0
    assert len(slack.calls("chat.postMessage")) == 1 and slack.calls("chat.update") == []
    assert _unsent(db) == []


def test_a_decision_updates_the_message_in_place_without_buttons(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db)
    notifier.deliver(db, deployment_id)
    ts = _main(slack)["ts"]
    _approve(db, deployment_id, comment="ship it <!channel> & go")
    assert notifier.deliver(db, deployment_id) == 1

    (update,) = slack.calls("chat.update")
    assert update.ok and update.args["ts"] == ts and update.args["channel"] == CHANNEL
    main = _main(slack)
    assert main["ts"] == ts and main.get("edited")
    assert _buttons(main) == []
    text = json.dumps(main["blocks"])
    assert "Approved by *bob@example.com* at " in text
    assert "&lt;!channel&gt; &amp; go" in text and "<!channel>" not in text
    assert len(slack.calls("chat.postMessage")) == 1  # nothing new in the channel


def test_rejected_and_expired_update_the_message(db: Database, slack: SlackEmulator, notifier: SlackNotifier) -> None:
    rejected = _deployment(db, app="web")
    notifier.deliver(db)
    assert service.decide(db, rejected, state="rejected", decided_by="bob@example.com", comment=None)
    _queue(db, rejected, "rejected")
    assert notifier.deliver(db) == 1
    text = render_text(_main(slack))
    assert "Rejected by bob@example.com" in text.replace("*", "") and "[Approve]" not in text

    slack.reset()
    expired = _deployment(db, app="api")
    assert service.expire(db, expired) is not None
    _queue(db, expired, "expired")
    assert notifier.deliver(db) == 2  # posted with its final state straight away, then the update
    text = render_text(_main(slack))
    assert "Expired" in text and "[Approve]" not in text


def test_progress_and_outcome_go_to_the_thread(db: Database, slack: SlackEmulator, notifier: SlackNotifier) -> None:
    deployment_id = _deployment(db)
    notifier.deliver(db)
    ts = _main(slack)["ts"]
    _approve(db, deployment_id)
    notifier.deliver(db)
    _start(db, deployment_id)
    assert notifier.deliver(db) == 1
    _finish(db, deployment_id, "succeeded")
    assert notifier.deliver(db) == 1

    replies = _thread(slack, ts)
    assert len(replies) == 2
    assert "Sync of `abc123` to prod started" in replies[0] and "payments-web-prod" in replies[0]
    assert "Deployed `abc123` to prod in " in replies[1]
    main = render_text(_main(slack))
    assert "Deployed" in main and "Approved by bob@example.com" in main.replace("*", "")


def test_a_failed_sync_is_reported_with_argo_cds_message(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db, approval=False, channel="C0GENERAL")
    _start(db, deployment_id)
    _finish(db, deployment_id, "failed", "one or more objects failed to apply <Deployment/web>")
    assert notifier.deliver(db) == 3
    main = _main(slack)
    assert main["channel"] == "C0GENERAL" and _buttons(main) == []
    replies = _thread(slack, main["ts"])
    assert len(replies) == 2 and "started" in replies[0]
    assert "failed" in replies[1] and "one or more objects failed to apply <Deployment/web>" in replies[1]
    assert "Failed" in render_text(main)
    # Only the last of the queued rows updated the main message (the others would repeat it).
    assert len(slack.calls("chat.update")) == 1


def test_a_deployment_without_a_channel_sends_nothing(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    _deployment(db, channel=None)
    assert notifier.deliver(db) == 0
    assert slack.calls() == []


@pytest.mark.parametrize("status", [500, 503])
def test_a_slack_server_error_is_retried_at_the_next_delivery(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier, status: int
) -> None:
    deployment_id = _deployment(db)
    _approve(db, deployment_id)
    slack.fail_next("chat.postMessage", error="internal_error", status=status)
    assert notifier.deliver(db) == 0
    (row, waiting) = _unsent(db)
    assert row["kind"] == "requested" and row["attempts"] == 1 and "internal_error" in row["last_error"]
    assert waiting == {"kind": "approved", "attempts": 0, "last_error": None}  # waits: order is kept
    assert slack.messages() == []
    assert notifier.deliver(db) == 0  # backing off

    _due_now(db)
    assert notifier.deliver(db) == 2
    assert _unsent(db) == []
    assert len(slack.messages()) == 1 and "Approved by" in render_text(_main(slack))


def test_rate_limits_are_retried_after_retry_after_then_left_for_the_next_pass(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db, approval=False)
    slack.fail_next("chat.postMessage", status=429, retry_after=0, count=1)
    assert notifier.deliver(db, deployment_id) == 1  # slack_sdk waited and tried again
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]

    _start(db, deployment_id)
    slack.fail_next("chat.postMessage", status=429, retry_after=0, count=2)
    assert notifier.deliver(db, deployment_id) == 0
    (row,) = _unsent(db)
    assert row["kind"] == "started" and row["attempts"] == 1 and "ratelimited" in row["last_error"]
    _due_now(db)
    assert notifier.deliver(db, deployment_id) == 1
    assert len(_thread(slack, _main(slack)["ts"])) == 1


def test_a_long_retry_after_is_not_waited_for(db: Database, slack: SlackEmulator, notifier: SlackNotifier) -> None:
    _deployment(db)
    slack.fail_next("chat.postMessage", status=429, retry_after=30)
    started = time.monotonic()
    assert notifier.deliver(db) == 0
    assert time.monotonic() - started < 5  # a request answering within 29 s must not sleep 30 s
    assert [c.status for c in slack.calls("chat.postMessage")] == [429]
    assert "ratelimited" in _unsent(db)[0]["last_error"]
    _due_now(db)
    assert notifier.deliver(db) == 1


def test_a_failed_thread_reply_never_posts_the_main_message_twice(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment_id = _deployment(db, approval=False)
    db.run("DELETE FROM deployment_notifications")
    _start(db, deployment_id)  # its first row: the main message, then a reply in its thread
    post = notifier.client.post_message
    replies: list[str] = []

    def reply_fails_once(
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        if thread_ts is not None and not replies:
            replies.append(thread_ts)
            raise SlackError("Slack chat.postMessage failed: internal_error", slack_error="internal_error")
        return post(channel, text, blocks, thread_ts, metadata=metadata)

    monkeypatch.setattr(notifier.client, "post_message", reply_fails_once)
    assert notifier.deliver(db) == 0
    _due_now(db)
    assert notifier.deliver(db) == 1
    main = _main(slack)  # exactly one main message
    assert replies == [main["ts"]] and len(_thread(slack, main["ts"])) == 1


def test_two_senders_never_send_the_same_row(
    db: Database, database_url: str, database_schema: str, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    ids = [_deployment(db, app=f"app{i}") for i in range(4)]
    for deployment_id in ids:
        _approve(db, deployment_id)
    others = [Database(database_url, schema=database_schema) for _ in range(4)]
    start = threading.Barrier(len(others))
    sent: list[int] = []

    def run(connection: Database) -> None:
        start.wait()
        sent.append(notifier.deliver(connection))

    threads = [threading.Thread(target=run, args=(connection,)) for connection in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for connection in others:
        connection.close()

    assert sum(sent) == 2 * len(ids)
    assert len(slack.calls("chat.postMessage")) == len(ids)  # one main message each
    assert len(slack.calls("chat.update")) == len(ids)
    assert _unsent(db) == []


def test_a_deployment_locked_by_another_sender_is_left_to_it(
    db: Database, database_url: str, database_schema: str, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    deployment_id = _deployment(db)
    holder = Database(database_url, schema=database_schema)
    try:
        with holder.transaction():
            assert outbox.try_lock_notifications(holder, deployment_id)
            assert notifier.deliver(db) == 0
            assert slack.calls() == []
        assert notifier.deliver(db) == 1
    finally:
        holder.close()


def test_a_row_that_failed_too_often_waits_for_a_person(
    db: Database, slack: SlackEmulator, notifier: SlackNotifier
) -> None:
    _deployment(db)
    db.run("UPDATE deployment_notifications SET attempts = :n, last_error = 'channel_not_found'", n=MAX_ATTEMPTS)
    assert notifier.deliver(db) == 0
    assert slack.calls() == []
    (parked,) = outbox.parked_notifications(db)  # for `idp outbox list`, until `idp outbox requeue`
    assert parked.attempts == MAX_ATTEMPTS and "channel_not_found" in (parked.last_error or "")


def test_messages_stay_within_slacks_limits(db: Database, slack: SlackEmulator, notifier: SlackNotifier) -> None:
    deployment_id = _deployment(db, requested_by="x" * 2500)
    _approve(db, deployment_id, comment="c" * 500)
    _start(db, deployment_id)
    _finish(db, deployment_id, "failed", "boom " * 2000)
    assert notifier.deliver(db) == 4  # the emulator refuses blocks past Slack's limits
    record = service.get_deployment(db, deployment_id)
    assert record is not None
    for message in (main_message(record.read()), thread_message(record.read(), "failed")):
        assert len(message.text) <= 3000
        assert all(len(block["text"]["text"]) <= 3000 for block in message.blocks if "text" in block)


def test_notifier_from_settings() -> None:
    assert notifier_from_settings(Settings(slack_bot_token=None, slack_bot_token_secret_id=None)) is None
    settings = Settings(slack_bot_token="xoxb-test", slack_api_url="http://127.0.0.1:9/api")
    notifier = notifier_from_settings(settings)
    assert isinstance(notifier, SlackNotifier)
    assert notifier_from_settings(settings) is notifier  # one per container
    assert "xoxb-test" not in repr(notifier.client)


def test_an_unreachable_slack_is_a_slack_error() -> None:
    client = SlackClient("xoxb-test", base_url="http://127.0.0.1:9/api/", timeout=1)
    with pytest.raises(SlackError) as raised:
        client.post_message("C0GENERAL", "hi", [])
    assert raised.value.slack_error is None and "unreachable" in raised.value.message
    assert "xoxb-test" not in str(raised.value)


def test_slack_errors_carry_slacks_code(slack: SlackEmulator) -> None:
    client = SlackClient(slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackError) as raised:
        client.update_message("C0GENERAL", "1.000001", "hi", [])
    assert raised.value.slack_error == "message_not_found" and raised.value.status == 502
    bad = SlackClient("xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackError) as raised:
        bad.post_message("C0GENERAL", "hi", [])
    assert raised.value.slack_error == "invalid_auth"
