"""`idp outbox list|requeue`: the Slack outbox's parked messages, on the test database (DATABASE_URL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from idp.config import reset_settings
from idp.db import Database, reset_database
from idp_cli.main import app


@pytest.fixture
def operator_env(
    db: Database, database_url: str, database_schema: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The operator's DATABASE_URL pointing at the test schema."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    monkeypatch.delenv("DATABASE_SECRET_ID", raising=False)
    reset_settings()
    reset_database()
    yield
    reset_database()
    reset_settings()


def _notification(db: Database, app: str, *, parked: bool, error: str | None = "channel_not_found") -> int:
    """A deployment of payments/`app` in C0GONE with one outbox row (parked, or waiting)."""
    tenant = db.row("SELECT id::text FROM tenants WHERE name = 'payments'") or db.row(
        "INSERT INTO tenants (name, display_name, environments, quotas, status, created_by) VALUES"
        " ('payments', 'Payments', '[\"prod\"]', '{}', 'ready', 'alice@example.com') RETURNING id::text"
    )
    assert tenant is not None
    row = db.row(
        "WITH a AS (INSERT INTO apps (tenant_id, name, repo_url, path, environments, status, created_by)"
        " VALUES (CAST(:t AS uuid), :app, 'https://github.com/acme/web', '.', '[\"prod\"]', 'ready',"
        " 'alice@example.com') RETURNING id, tenant_id),"
        " d AS (INSERT INTO deployments (tenant_id, app_id, environment, kind, revision, state, requested_by,"
        " requested_via, approval_required, slack_channel) SELECT tenant_id, id, 'prod', 'deploy', 'abc123',"
        " 'pending_approval', 'alice@example.com', 'slack', true, 'C0GONE' FROM a RETURNING id)"
        " INSERT INTO deployment_notifications (deployment_id, kind, attempts, last_error, parked_at)"
        " SELECT id, 'requested', 1, :error, CASE WHEN :parked THEN now() END FROM d RETURNING id",
        t=tenant["id"],
        app=app,
        error=error,
        parked=parked,
    )
    assert row is not None
    return int(row["id"])


def _parked(db: Database) -> list[int]:
    rows = db.run("SELECT id FROM deployment_notifications WHERE parked_at IS NOT NULL ORDER BY id")
    return [int(r[0]) for r in rows]


def test_list_shows_the_parked_messages(operator_env: None, db: Database) -> None:
    parked = _notification(db, "web", parked=True)
    _notification(db, "api", parked=False)

    result = CliRunner().invoke(app, ["outbox", "list", "-o", "json"])
    assert result.exit_code == 0, result.output
    (shown,) = json.loads(result.stdout)
    assert shown["id"] == parked and (shown["tenant"], shown["app"], shown["environment"]) == (
        "payments",
        "web",
        "prod",
    )
    assert shown["slack_channel"] == "C0GONE" and shown["last_error"] == "channel_not_found"
    assert shown["kind"] == "requested" and shown["held_back"] == 0

    table = CliRunner().invoke(app, ["outbox", "list"])
    assert table.exit_code == 0 and "payments/web" in table.stdout and "channel_not_found" in table.stdout


def test_requeue_one_then_all(operator_env: None, db: Database) -> None:
    first, second = _notification(db, "web", parked=True), _notification(db, "api", parked=True)

    result = CliRunner().invoke(app, ["outbox", "requeue", "--id", str(first), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"requeued": [first]}
    assert _parked(db) == [second]
    row = db.row(
        "SELECT attempts, next_attempt_at <= now() AS due FROM deployment_notifications WHERE id = :id", id=first
    )
    assert row == {"attempts": 0, "due": True}

    result = CliRunner().invoke(app, ["outbox", "requeue", "--all"])
    assert result.exit_code == 0, result.output
    assert "requeued 1 message(s)" in result.output and _parked(db) == []
    empty = CliRunner().invoke(app, ["outbox", "list"])
    assert empty.exit_code == 0 and "no parked messages" in empty.output


def test_requeue_says_which_ids_were_not_parked(operator_env: None, db: Database) -> None:
    waiting = _notification(db, "web", parked=False)
    result = CliRunner().invoke(app, ["outbox", "requeue", "--id", str(waiting), "--id", "999999"])
    assert result.exit_code == 1
    assert f"not parked (sent, unknown, or already queued): {waiting}, 999999" in result.output


@pytest.mark.parametrize("args", [[], ["--all", "--id", "1"]])
def test_requeue_needs_ids_or_all(operator_env: None, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["outbox", "requeue", *args])
    assert result.exit_code == 2 and "--id N (repeatable) or --all" in result.output


def test_the_commands_need_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "DATABASE_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    reset_database()
    try:
        result = CliRunner().invoke(app, ["outbox", "list"])
    finally:
        reset_settings()
    assert result.exit_code == 2 and "DATABASE_URL" in result.output
