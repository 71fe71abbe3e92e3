"""The deploy poller, run each minute by an EventBridge schedule (not behind the API).

One run polls for `deploy_poll_budget_seconds` (never past the Lambda's remaining time less
a margin), a pass every `deploy_poll_interval_seconds`: it expires overdue approvals, starts
approved syncs, records outcomes from Argo CD and sends the Slack notifications still due.
Runs that overlap are safe: every pass claims its rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from idp import deps
from idp.config import get_settings
from idp.deploy import tracking
from idp.observability import logger, metrics

__all__ = ["lambda_handler"]

MARGIN_SECONDS = 10.0  # for the last pass (Argo CD calls time out after argocd_timeout_seconds) and the flush


def poll(context: LambdaContext) -> tracking.PollSummary:
    settings = get_settings()
    remaining = context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    budget = max(0.0, min(settings.deploy_poll_budget_seconds, remaining))
    db, argocd, notifier = deps.database(), deps.argocd(), deps.notifier()
    return tracking.run_poller(
        lambda: tracking.poll_once(db, argocd, notifier),
        budget_seconds=budget,
        interval_seconds=settings.deploy_poll_interval_seconds,
    )


@logger.inject_lambda_context
@metrics().log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = poll(context)
    logger.info("deploy poller run", extra={"summary": summary.model_dump()})
    recorder = metrics()
    for name, value in (
        ("DeploymentsSucceeded", summary.succeeded),
        ("DeploymentsFailed", summary.failed),
        ("DeploymentApprovalsExpired", summary.expired),
        ("DeploySyncsStarted", summary.started),
        ("DeployPollerErrors", summary.errors + summary.start_failures),
        # Slack messages no pass will send until an operator requeues them (`idp outbox list`).
        ("DeploymentNotificationsParked", summary.notifications_parked),
    ):
        recorder.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return summary.model_dump()
