"""The scheduled deploy poller, run the way Lambda runs it: the template's handler with a Lambda context."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from idp.config import reset_settings
from idp_local.lambda_runtime import FunctionRuntime
from idp_local.template import load_template

ROOT = Path(__file__).resolve().parents[3]
DAVE = "dave@example.com"
# What EventBridge sends on a schedule.
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-26T09:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/local-DeployPollerFunctionEveryMinute"],
    "detail": {},
}


def load_template_resource(name: str) -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    return dict(cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"][name]["Properties"])


@pytest.fixture
def poller(team: Any, monkeypatch: pytest.MonkeyPatch) -> FunctionRuntime:
    """DeployPollerFunction from template.yaml, polling every 0.05 s for 0.5 s per run."""
    monkeypatch.setenv("DEPLOY_POLL_BUDGET_SECONDS", "0.5")
    monkeypatch.setenv("DEPLOY_POLL_INTERVAL_SECONDS", "0.05")
    reset_settings()
    spec = load_template(ROOT / "template.yaml").functions["DeployPollerFunction"]
    return FunctionRuntime(spec)


def test_a_scheduled_run_follows_a_sync_to_its_outcome(
    team: Any, poller: FunctionRuntime, argocd: Any, idp_logs: Any
) -> None:
    response = team.call(
        "POST", "/tenants/shop/apps/web/deployments", user=DAVE, json={"environment": "dev", "revision": "v7"}
    )
    assert response.status_code == 202, response.text
    deployment = response.json()

    started = time.monotonic()
    summary = poller.invoke(SCHEDULED_EVENT)
    elapsed = time.monotonic() - started

    assert summary["succeeded"] == 1 and summary["failed"] == 0 and summary["errors"] == 0, summary
    assert summary["passes"] >= 2  # it keeps polling for its budget, then returns
    assert elapsed < 3
    done = team.call("GET", f"/deployments/{deployment['id']}", user=DAVE).json()
    assert done["state"] == "succeeded" and done["deployed_revision"] == "v7"
    assert argocd.app("shop-web-dev")["status"]["sync"]["revision"] == "v7"

    # The summary is logged, and the outcome is a CloudWatch metric (EMF on stdout).
    text = idp_logs.text()
    (logged,) = [r for r in map(json.loads, idp_logs.lines) if r.get("msg") == "deploy poller run"]
    assert logged["summary"]["succeeded"] == 1
    blobs = [json.loads(line[line.index('{"_aws"') :]) for line in text.splitlines() if '{"_aws"' in line]
    (emf,) = [blob for blob in blobs if "DeploymentsSucceeded" in blob]
    assert emf["DeploymentsSucceeded"] in (1, [1])
    # The template's alarm watches the error count this run wrote, where it wrote it.
    (written,) = emf["_aws"]["CloudWatchMetrics"]
    alarm = load_template_resource("DeployPollerErrorsAlarm")
    assert written["Namespace"] == alarm["Namespace"]
    assert alarm["MetricName"] in {metric["Name"] for metric in written["Metrics"]}
    # And the parked Slack messages: none here (the deployment has no channel).
    parked = load_template_resource("DeploymentNotificationsParkedAlarm")
    assert parked["MetricName"] in {metric["Name"] for metric in written["Metrics"]}
    assert emf[parked["MetricName"]] in (0, [0]) and summary["notifications_parked"] == 0


def test_a_run_without_work_returns_quietly(team: Any, poller: FunctionRuntime) -> None:
    summary = poller.invoke(SCHEDULED_EVENT)
    assert summary["passes"] >= 1
    assert summary["succeeded"] == summary["failed"] == summary["expired"] == summary["errors"] == 0, summary
