"""Starting syncs and following them in Argo CD until a final state; the poller's loop.

Every deployment is handled in its own transaction with its row locked FOR UPDATE SKIP
LOCKED, so several pollers (the scheduled Lambda, the local thread, a flow that starts a
sync right after an approval) never act twice on one deployment. Starting a sync also
locks the app row, so two deployments of one app and environment never sync at once.

Which Argo CD operation is ours: the one whose `startedAt` is not before the deployment's
`sync_started_at` (less `CLOCK_SKEW`: Argo CD stamps whole seconds) and whose revision is
the deployment's. While Argo CD still shows the top-level `operation` (requested, not yet
finished) or an older operation, the deployment keeps waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from idp.audit.service import TenantRef
from idp.audit.service import record as audit_record
from idp.clients.argocd import ArgoCdClient, ArgoCdError
from idp.db import Database
from idp.deploy import outbox, service
from idp.deploy.apps import AppRecord, get_app_by_id, upsert_application
from idp.deploy.outbox import NotificationKind
from idp.deploy.policy import DeployConfig
from idp.deploy.service import DeploymentRecord
from idp.errors import Conflict
from idp.observability import logger

if TYPE_CHECKING:
    from idp.deploy.notifications import Notifier

__all__ = [
    "CLOCK_SKEW",
    "PollSummary",
    "Verdict",
    "deliver",
    "expire_locked",
    "follow",
    "judge",
    "poll_once",
    "run_poller",
    "start_sync",
    "system_audit",
]

CLOCK_SKEW = timedelta(seconds=5)
T = TypeVar("T")
StartResult = Literal["started", "waiting", "failed_to_start", "skipped", "app_deleted"]


class PollSummary(BaseModel):
    """What one pass (or a run of passes) of the poller did."""

    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    passes: int = 1
    expired: int = 0
    started: int = 0
    start_failures: int = 0
    succeeded: int = 0
    failed: int = 0
    waiting: int = 0
    errors: int = 0
    notifications_sent: int = 0
    notifications_parked: int = 0  # a level, not a count: parked outbox rows after the (last) pass

    def __add__(self, other: PollSummary) -> PollSummary:
        total = {k: getattr(self, k) + getattr(other, k) for k in PollSummary.model_fields}
        total["notifications_parked"] = other.notifications_parked
        return PollSummary.model_validate(total)


def system_audit(db: Database, action: str, deployment: DeploymentRecord, **details: Any) -> None:
    """An audit entry for something the platform did on its own."""
    audit_record(
        db,
        None,
        action,
        deployment.id,
        tenant=TenantRef(deployment.tenant_id, deployment.tenant),
        details={"app": deployment.app, "environment": deployment.environment, **details},
        actor="platform",
        actor_kind="system",
        front_end="api",
    )


def deliver(db: Database, notifier: Notifier | None, deployment_id: str | None) -> int:
    """Sends queued Slack messages after a commit; a failure is logged and left for the poller."""
    if notifier is None:
        return 0
    try:
        return notifier.deliver(db, deployment_id)
    except Exception:
        logger.exception("delivering deployment notifications failed", extra={"deployment": deployment_id})
        return 0


# -- starting a sync --------------------------------------------------------------------
def start_sync(
    db: Database, argocd: ArgoCdClient, deployment_id: str, *, config: DeployConfig | None = None
) -> StartResult:
    """Starts the sync of an approved deployment, at most once, whoever calls it.

    Locks the deployment (skipped if another process holds it) and its app, re-checks that it
    is approved and that no other deployment of the app and environment is syncing, points the
    Application at the revision and asks Argo CD to sync (a rollback re-deploys the matching
    history entry). Argo CD failing leaves it approved with the reason; the poller retries.
    """
    cfg = DeployConfig.resolve(config)
    with db.transaction():
        deployment = service.get_deployment(db, deployment_id, lock="skip")
        if deployment is None or deployment.state != "approved":
            return "skipped"
        app = get_app_by_id(db, deployment.app_id, for_update=True)
        if app is None or app.deleted_at is not None:
            _fail(db, deployment, "the app was deleted before the sync started", from_states=("approved",))
            return "app_deleted"
        running = service.syncing_for(db, deployment.app_id, deployment.environment)
        if running is not None:
            waiting = f"waiting for deployment {running.id} ({running.revision}) to finish"
            if deployment.message != waiting:
                service.set_waiting_message(db, deployment.id, waiting)
            return "waiting"
        name = app.argocd_name(deployment.environment)
        try:
            _sync(argocd, app, deployment, name, server=cfg.destination_server)
        except (ArgoCdError, Conflict) as exc:
            service.record_start_failure(
                db, deployment.id, f"Argo CD did not start the sync ({exc.message}); the platform retries"
            )
            return "failed_to_start"
        started = service.mark_syncing(db, deployment.id)
        assert started is not None
        outbox.enqueue(db, deployment.id, "started")
        system_audit(db, "deployment.start", started, revision=started.revision, argocd_app=name)
        return "started"


def _sync(argocd: ArgoCdClient, app: AppRecord, deployment: DeploymentRecord, name: str, *, server: str) -> None:
    upsert_application(argocd, app, deployment.environment, revision=deployment.revision, server=server)
    if deployment.kind == "rollback":
        live = argocd.get_app(name) or {}
        history = (live.get("status") or {}).get("history") or []
        matches = [h for h in history if h.get("revision") == deployment.revision and h.get("id") is not None]
        if matches:
            argocd.rollback(name, int(matches[-1]["id"]))
            return
    argocd.sync(name, revision=deployment.revision)


# -- following a sync -------------------------------------------------------------------
class Verdict(BaseModel):
    model_config = ConfigDict(defer_build=True)  # validator built on first use, not at import

    outcome: Literal["wait", "succeeded", "failed"]
    message: str | None = None
    deployed_revision: str | None = None
    history_id: int | None = None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ours(live: dict[str, Any], operation: dict[str, Any], deployment: DeploymentRecord) -> bool:
    if live.get("operation"):
        return False  # Argo CD has not finished (or not even begun) the requested operation
    started = _parse_time(operation.get("startedAt"))
    if started is None or deployment.sync_started_at is None or started < deployment.sync_started_at - CLOCK_SKEW:
        return False
    requested = ((operation.get("operation") or {}).get("sync") or {}).get("revision")
    result = (operation.get("syncResult") or {}).get("revision")
    return requested is None or deployment.revision in (requested, result)


def judge(live: dict[str, Any], deployment: DeploymentRecord, *, now: datetime, timeout_seconds: float) -> Verdict:
    """What Argo CD's view of the Application means for a syncing deployment (pure)."""
    status = live.get("status") or {}
    operation = status.get("operationState") or {}
    health = status.get("health") or {}
    phase, health_status = operation.get("phase"), health.get("status")
    if operation and _ours(live, operation, deployment):
        if phase in ("Failed", "Error"):
            return Verdict(outcome="failed", message=f"Argo CD sync {phase.lower()}: {operation.get('message')}")
        if phase == "Succeeded":
            if health_status == "Healthy":
                revision = (operation.get("syncResult") or {}).get("revision") or deployment.revision
                ids = [h["id"] for h in status.get("history") or [] if h.get("revision") == revision and "id" in h]
                return Verdict(
                    outcome="succeeded",
                    message=f"synced to {revision}; healthy",
                    deployed_revision=revision,
                    history_id=int(ids[-1]) if ids else None,
                )
            if health_status == "Degraded":
                reason = health.get("message") or "the application is Degraded"
                return Verdict(outcome="failed", message=f"synced but degraded: {reason}")
    started = deployment.sync_started_at
    if started is not None and (now - started).total_seconds() > timeout_seconds:
        return Verdict(
            outcome="failed",
            message=f"not healthy within {int(timeout_seconds)} seconds of the sync start"
            f" (Argo CD: operation {phase or 'not started'}, health {health_status or 'unknown'})",
        )
    return Verdict(outcome="wait")


def follow(
    db: Database, argocd: ArgoCdClient, deployment_id: str, *, timeout_seconds: float, now: datetime | None = None
) -> Literal["succeeded", "failed", "waiting", "skipped"]:
    """One look at a syncing deployment in Argo CD; records the outcome once it is final."""
    with db.transaction():
        deployment = service.get_deployment(db, deployment_id, lock="skip")
        if deployment is None or deployment.state != "syncing":
            return "skipped"
        app = get_app_by_id(db, deployment.app_id)
        if app is None or app.deleted_at is not None:
            _fail(db, deployment, "the app was deleted during the sync", from_states=("syncing",))
            return "failed"
        at = now or service.db_now(db)
        name = app.argocd_name(deployment.environment)
        try:
            live = argocd.get_app(name)
        except ArgoCdError as exc:
            live = {"status": {"operationState": {"phase": f"unknown (Argo CD: {exc.message})"}}}
        if live is None:
            _fail(db, deployment, f"Argo CD application {name} no longer exists", from_states=("syncing",))
            return "failed"
        verdict = judge(live, deployment, now=at, timeout_seconds=timeout_seconds)
        if verdict.outcome == "wait":
            return "waiting"
        if verdict.outcome == "failed":
            if ((live.get("status") or {}).get("operationState") or {}).get("phase") == "Running":
                _terminate(argocd, name)
            _fail(db, deployment, verdict.message or "failed", from_states=("syncing",))
            return "failed"
        done = service.finish(
            db,
            deployment.id,
            state="succeeded",
            message=verdict.message,
            deployed_revision=verdict.deployed_revision,
            history_id=verdict.history_id,
        )
        assert done is not None
        outbox.enqueue(db, deployment.id, "succeeded")
        system_audit(
            db, "deployment.succeeded", done, revision=done.deployed_revision, seconds=done.read().duration_seconds
        )
        return "succeeded"


def _terminate(argocd: ArgoCdClient, name: str) -> None:
    try:
        argocd.terminate(name)
    except ArgoCdError:
        logger.warning("could not terminate the timed-out Argo CD operation", extra={"argocd_app": name})


def _fail(db: Database, deployment: DeploymentRecord, message: str, *, from_states: tuple[Any, ...]) -> None:
    done = service.finish(db, deployment.id, state="failed", message=message, from_states=from_states)
    if done is not None:
        outbox.enqueue(db, deployment.id, "failed")
        system_audit(db, "deployment.failed", done, revision=done.revision, message=message, outcome_state=done.state)


def _expire(db: Database, deployment_id: str, now: datetime | None) -> bool:
    with db.transaction():
        deployment = service.get_deployment(db, deployment_id, lock="skip")
        if deployment is None or deployment.state != "pending_approval" or deployment.approval_expires_at is None:
            return False
        if deployment.approval_expires_at > (now or service.db_now(db)):
            return False
        return expire_locked(db, deployment)


def expire_locked(db: Database, deployment: DeploymentRecord) -> bool:
    """Records a pending deployment (locked by the caller) as expired, with its notification and audit entry."""
    done = service.expire(db, deployment.id)
    if done is None:
        return False
    kind: NotificationKind = "expired"
    outbox.enqueue(db, deployment.id, kind)
    system_audit(db, "deployment.expire", done, expired_at=done.approval_expires_at)
    return True


# -- the poller -------------------------------------------------------------------------
def poll_once(
    db: Database,
    argocd: ArgoCdClient,
    notifier: Notifier | None,
    *,
    config: DeployConfig | None = None,
    now: datetime | None = None,
) -> PollSummary:
    """One pass: fail deployments of deleted apps, expire overdue approvals, start approved
    deployments, follow syncing ones, then deliver unsent notifications and count the parked ones
    (`notifications_parked`: the scheduled function reports it as a metric, with an alarm).

    `config` defaults to the settings (deploy_timeout_seconds, argocd_destination_server);
    `now` (default: the database's clock) lets tests move time forward.
    """
    cfg = DeployConfig.resolve(config)
    summary = PollSummary()
    for deployment_id in service.ids_for_deleted_apps(db):
        summary.failed += bool(_guarded(summary, partial(_fail_deleted, db, deployment_id)))
    for deployment_id in service.overdue_approval_ids(db, now=now):
        summary.expired += bool(_guarded(summary, partial(_expire, db, deployment_id, now)))
    for deployment_id in service.active_ids(db, "approved"):
        result = _guarded(summary, partial(start_sync, db, argocd, deployment_id, config=cfg))
        summary.started += result == "started"
        summary.start_failures += result == "failed_to_start"
        summary.failed += result == "app_deleted"
        summary.waiting += result == "waiting"
    for deployment_id in service.active_ids(db, "syncing"):
        outcome = _guarded(
            summary, partial(follow, db, argocd, deployment_id, timeout_seconds=cfg.timeout_seconds, now=now)
        )
        summary.succeeded += outcome == "succeeded"
        summary.failed += outcome == "failed"
        summary.waiting += outcome == "waiting"
    summary.notifications_sent = deliver(db, notifier, None)
    summary.notifications_parked = _guarded(summary, partial(outbox.count_parked, db)) or 0
    return summary


def _fail_deleted(db: Database, deployment_id: str) -> bool:
    with db.transaction():
        deployment = service.get_deployment(db, deployment_id, lock="skip")
        if deployment is None or deployment.state not in ("pending_approval", "approved", "syncing"):
            return False
        _fail(db, deployment, "the app was deleted", from_states=("pending_approval", "approved", "syncing"))
        return True


def _guarded(summary: PollSummary, step: Callable[[], T]) -> T | None:
    """Runs one deployment's step; an unexpected error is logged and counted, never stops the pass."""
    try:
        return step()
    except Exception:
        logger.exception("poller step failed")
        summary.errors += 1
        return None


def run_poller(
    poll: Callable[[], PollSummary],
    *,
    budget_seconds: float,
    interval_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = time.sleep,
    stop: Callable[[], bool] | None = None,
) -> PollSummary:
    """Calls `poll` every `interval_seconds` until `budget_seconds` would be exceeded (or `stop()`).

    The scheduled Lambda passes a budget below its timeout; the local runner a long budget and a
    `stop` (with `sleep` = its stop event's wait). Returns the sum of the passes.
    """
    started = clock()
    total = PollSummary(passes=0)
    while True:
        total = total + poll()
        if stop is not None and stop():
            return total
        if clock() - started + interval_seconds >= budget_seconds:
            return total
        sleep(interval_seconds)
        if stop is not None and stop():
            return total
