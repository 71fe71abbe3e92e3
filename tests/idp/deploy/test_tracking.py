"""How the poller reads Argo CD (pure), and its loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from idp.deploy.service import DeploymentRecord
from idp.deploy.tracking import PollSummary, judge, run_poller

STARTED = datetime(2026, 5, 1, 12, 0, 0, 400000, tzinfo=UTC)


def _deployment(revision: str = "v2") -> DeploymentRecord:
    return DeploymentRecord.model_validate(
        {
            "id": "8d7a3d1e-0000-0000-0000-000000000001",
            "tenant_id": "t",
            "tenant": "shop",
            "app_id": "a",
            "app": "web",
            "environment": "dev",
            "kind": "deploy",
            "revision": revision,
            "previous_revision": "v1",
            "state": "syncing",
            "message": None,
            "requested_by": "dora@example.com",
            "requested_via": "cli",
            "requested_at": STARTED,
            "approval_required": False,
            "approval_expires_at": None,
            "decided_by": None,
            "decided_at": None,
            "decision_comment": None,
            "sync_started_at": STARTED,
            "finished_at": None,
            "deployed_revision": None,
            "argocd_history_id": None,
            "attempts": 1,
            "slack_channel": None,
            "slack_ts": None,
            "idempotency_key": None,
            "request_fingerprint": None,
            "updated_at": STARTED,
        }
    )


def _live(
    phase: str, health: str, *, revision: str = "v2", started: str = "2026-05-01T12:00:00Z", **extra: Any
) -> dict[str, Any]:
    return {
        **extra,
        "status": {
            "health": {"status": health, "message": "probe failed" if health == "Degraded" else None},
            "operationState": {
                "phase": phase,
                "message": "one or more objects failed to apply" if phase == "Failed" else "ok",
                "startedAt": started,
                "operation": {"sync": {"revision": revision}},
                "syncResult": {"revision": "4f2c9e1"},
            },
            "history": [{"id": 3, "revision": "v1"}, {"id": 4, "revision": "4f2c9e1"}],
        },
    }


def _judge(live: dict[str, Any], *, after: float = 10) -> Any:
    return judge(live, _deployment(), now=STARTED + timedelta(seconds=after), timeout_seconds=900)


def test_success_needs_our_operation_succeeded_and_healthy() -> None:
    verdict = _judge(_live("Succeeded", "Healthy"))
    assert verdict.outcome == "succeeded" and verdict.deployed_revision == "4f2c9e1" and verdict.history_id == 4
    # Argo CD stamps whole seconds: 12:00:00 is not "before" a start at 12:00:00.4.
    assert _judge(_live("Succeeded", "Progressing")).outcome == "wait"
    assert _judge(_live("Running", "Progressing")).outcome == "wait"


def test_failures_carry_argocds_message() -> None:
    failed = _judge(_live("Failed", "Degraded"))
    assert failed.outcome == "failed" and "one or more objects failed to apply" in (failed.message or "")
    assert _judge(_live("Error", "Unknown")).outcome == "failed"
    degraded = _judge(_live("Succeeded", "Degraded"))
    assert degraded.outcome == "failed" and "probe failed" in (degraded.message or "")


def test_an_older_operation_or_one_still_requested_is_not_ours() -> None:
    assert _judge(_live("Failed", "Degraded", started="2026-05-01T11:50:00Z")).outcome == "wait"
    assert _judge(_live("Succeeded", "Healthy", revision="v1")).outcome == "wait"
    assert _judge(_live("Succeeded", "Healthy", operation={"sync": {"revision": "v2"}})).outcome == "wait"


def test_past_the_timeout_it_fails_saying_where_argocd_was() -> None:
    verdict = _judge(_live("Running", "Progressing"), after=901)
    assert verdict.outcome == "failed"
    assert verdict.message == (
        "not healthy within 900 seconds of the sync start (Argo CD: operation Running, health Progressing)"
    )
    assert _judge({"status": {}}, after=901).message is not None


def test_run_poller_polls_within_its_budget() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def poll() -> PollSummary:
        now[0] += 1
        return PollSummary(succeeded=1)

    total = run_poller(poll, budget_seconds=45, interval_seconds=5, clock=lambda: now[0], sleep=sleep)
    assert total.passes == 8 and total.succeeded == 8 and slept == [5] * 7 and now[0] == 43


def test_run_poller_stops_when_asked() -> None:
    passes = []
    total = run_poller(
        lambda: passes.append(1) or PollSummary(),
        budget_seconds=1e9,
        interval_seconds=1,
        sleep=lambda _: None,
        stop=lambda: len(passes) >= 3,
    )
    assert total.passes == 3
