"""`idp app|deploy|rollback|deployments|approve|reject|deploy-policy` over real HTTP against the local
platform, with the Argo CD emulator and the deploy poller running, and the progress line on its own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from click.testing import Result
from typer.testing import CliRunner

from idp.client import api_unreachable, error_from_response
from idp.errors import IdpError
from idp.schemas.deploy import DeploymentCreate, DeploymentRead
from idp_cli.commands import deploys
from idp_cli.commands._progress import follow
from idp_cli.main import app
from idp_cli.output import ProgressLine, duration

Run = Callable[..., Result]

ALICE = "alice@example.com"  # owner
BOB = "bob@example.com"  # owner
CAROL = "carol@example.com"  # developer
DAVE = "dave@example.com"  # viewer
REPO = "https://github.com/acme/web"


@pytest.fixture
def run(api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI with a private config directory, signed in to the test platform as alice."""
    for name in ("IDP_TOKEN", "IDP_OUTPUT", "IDP_API_URL", "IDP_OIDC_ISSUER", "IDP_OIDC_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("IDP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input)

    login_as(invoke, api, ALICE)
    return invoke


def login_as(run: Run, api: Any, user: str) -> None:
    result = run("login", "--api-url", api.base_url, "--token", api.token(user))
    assert result.exit_code == 0, result.output


def make_tenant(api: Any, name: str = "shop") -> None:
    """A tenant with dev and prod, allowed to deploy from REPO; bob owner, carol developer, dave viewer."""
    body = {"name": name, "display_name": name, "environments": ["dev", "prod"], "repositories": [REPO]}
    created = api.call("POST", "/tenants", user=ALICE, json=body)
    assert created.status_code == 201, created.text
    for user, role in ((BOB, "owner"), (CAROL, "developer"), (DAVE, "viewer")):
        added = api.call("POST", f"/tenants/{name}/members", user=ALICE, json={"user": user, "role": role})
        assert added.status_code == 201, added.text


@pytest.fixture
def shop(api: Any, run: Run, argocd: Any) -> str:
    """Tenant shop with app web (shop-web-dev, shop-web-prod in Argo CD), made with the CLI."""
    make_tenant(api)
    created = run("app", "create", "web", "--repo", REPO, "--path", "deploy", "--tenant", "shop", "-o", "json")
    assert created.exit_code == 0, created.output
    return "shop"


def deploy_json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# -- apps -----------------------------------------------------------------------------------
def test_app_create_list_show_delete(run: Run, api: Any, argocd: Any) -> None:
    make_tenant(api)
    created = run("app", "create", "web", "--repo", REPO + ".git", "--path", "deploy", "-o", "json")  # only tenant
    assert created.exit_code == 0, created.output
    record = json.loads(created.stdout)
    assert (record["tenant"], record["name"], record["status"]) == ("shop", "web", "ready")
    assert record["repo_url"] == REPO and record["environments"] == ["dev", "prod"]
    assert {a["metadata"]["name"] for a in argocd.apps()} == {"shop-web-dev", "shop-web-prod"}

    again = run("app", "create", "shop/web", "--repo", REPO, "--path", "deploy", "-o", "json")  # a retry
    assert again.exit_code == 0, again.output

    listed = run("app", "list")
    assert listed.exit_code == 0, listed.output
    assert "web" in listed.stdout and REPO in listed.stdout and "ready" in listed.stdout
    assert [a["name"] for a in yaml.safe_load(run("app", "list", "--tenant", "shop", "-o", "yaml").stdout)] == ["web"]

    shown = run("app", "show", "web")  # the tenant found with GET /apps?name=web
    assert shown.exit_code == 0, shown.output
    for text in ("shop-web-dev", "shop-web-prod", "shop-prod", "SYNC", "HEALTH"):
        assert text in shown.stdout
    live = json.loads(run("app", "show", "shop/web", "-o", "json").stdout)["live"]
    assert [e["environment"] for e in live] == ["dev", "prod"]

    refused = run("app", "delete", "web")  # not a terminal and no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    deleted = run("app", "delete", "web", "--yes", "-o", "json")
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout)["status"] == "deleted"
    assert argocd.apps() == []


def test_app_create_refusals(run: Run, api: Any, argocd: Any) -> None:
    make_tenant(api)
    other = run("app", "create", "web", "--repo", "https://github.com/evil/other", "--tenant", "shop")
    assert other.exit_code == 1, other.output
    assert "repo_not_allowed" in other.stderr and REPO in other.stderr

    bad_url = run("app", "create", "web", "--repo", "ftp://example.com/x", "--tenant", "shop")
    assert bad_url.exit_code == 2 and "is not a repository URL" in bad_url.stderr
    bad_name = run("app", "create", "Web_App", "--repo", REPO, "--tenant", "shop")
    assert bad_name.exit_code == 2 and "DNS-1123" in bad_name.stderr
    clash = run("app", "create", "shop/web", "--repo", REPO, "--tenant", "blog")
    assert clash.exit_code == 2 and "--tenant says 'blog'" in clash.stderr
    assert argocd.apps() == []


# -- deploys --------------------------------------------------------------------------------
def test_deploy_to_dev_waits_until_it_succeeded(run: Run, shop: str, argocd: Any, deploy_poller: Any) -> None:
    result = run("deploy", "web", "dev", "--revision", "main")
    assert result.exit_code == 0, result.output
    assert "shop/web deploy to dev @ main: syncing" in result.stderr  # one progress line per state
    assert "succeeded" in result.stderr and "Traceback" not in result.output
    assert "succeeded" in result.stdout and "main" in result.stdout  # the deployment, for people
    assert argocd.app("shop-web-dev")["spec"]["source"]["targetRevision"] == "main"

    as_json = run("deploy", "web", "dev", "--revision", "v1.0.0", "--tenant", "shop", "-o", "json")
    assert as_json.exit_code == 0, as_json.output
    record = deploy_json(as_json)
    assert (record["state"], record["revision"], record["requested_by"]) == ("succeeded", "v1.0.0", ALICE)
    assert record["requested_via"] == "cli" and record["finished_at"]


def test_same_idempotency_key_deploys_once(run: Run, shop: str, deploy_poller: Any) -> None:
    first = run("deploy", "web", "dev", "-r", "main", "--idempotency-key", "ci-build-42", "-o", "json")
    second = run("deploy", "web", "dev", "-r", "main", "--idempotency-key", "ci-build-42", "-o", "json")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert deploy_json(first)["id"] == deploy_json(second)["id"]
    history = json.loads(run("deployments", "web", "-o", "json").stdout)
    assert len(history) == 1


def test_prod_waits_for_another_owner_and_refuses_self_approval(
    run: Run, api: Any, shop: str, argocd: Any, deploy_poller: Any
) -> None:
    pending = run("deploy", "web", "prod", "--revision", "v2.0.0", "--no-wait", "-o", "json")
    assert pending.exit_code == 0, pending.output
    record = deploy_json(pending)
    assert record["state"] == "pending_approval" and record["approval_required"]
    assert record["id"] in pending.stderr and f"idp approve {record['id']}" in pending.stderr
    assert BOB in pending.stderr  # who may approve (not alice, who asked)

    own = run("approve", record["id"])
    assert own.exit_code == 1, own.output
    assert "self_approval" in own.stderr

    login_as(run, api, CAROL)  # a developer decides nothing
    assert run("approve", record["id"]).exit_code == 1

    login_as(run, api, BOB)
    approved = run("approve", record["id"][:8], "--comment", "ship it", "-o", "json")  # the short id works
    assert approved.exit_code == 0, approved.output
    decided = deploy_json(approved)
    assert decided["decided_by"] == BOB and decided["decision_comment"] == "ship it"
    again = run("approve", record["id"])
    assert again.exit_code == 1 and "already_decided" in again.stderr

    final = wait_for(run, record["id"], "succeeded")
    assert final["revision"] == "v2.0.0" and final["decided_by"] == BOB
    assert argocd.app("shop-web-prod")["spec"]["source"]["targetRevision"] == "v2.0.0"
    shown = run("deployment", record["id"])
    assert shown.exit_code == 0 and "succeeded" in shown.stdout and BOB in shown.stdout


def test_deploy_keeps_waiting_through_the_approval(run: Run, api: Any, shop: str, deploy_poller: Any) -> None:
    approver = approve_when_pending(api, "shop", "web", BOB)
    result = run("deploy", "web", "prod", "--revision", "v3.0.0", "--timeout", "60")
    approver.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert "needs approval by" in result.stderr and BOB in result.stderr
    # one line per state seen (the poller may finish the sync between two polls of the CLI)
    assert ": pending approval [" in result.stderr and ": succeeded [" in result.stderr


def test_reject(run: Run, api: Any, shop: str, deploy_poller: Any) -> None:
    pending = deploy_json(run("deploy", "web", "prod", "--no-wait", "-o", "json"))
    login_as(run, api, BOB)
    rejected = run("reject", pending["id"], "--comment", "not on a Friday", "-o", "json")
    assert rejected.exit_code == 0, rejected.output
    assert "rejected" in rejected.stderr
    record = deploy_json(rejected)
    assert (record["state"], record["decided_by"], record["decision_comment"]) == ("rejected", BOB, "not on a Friday")


def test_rejected_while_waiting_exits_1(run: Run, api: Any, shop: str, deploy_poller: Any) -> None:
    decider = approve_when_pending(api, "shop", "web", BOB, verb="reject")
    result = run("deploy", "web", "prod", "--timeout", "60")
    decider.join(timeout=30)
    assert result.exit_code == 1, result.output
    assert f"rejected: by {BOB}" in result.stderr


def test_failed_sync_exits_1_with_argo_cds_message(run: Run, shop: str, argocd: Any, deploy_poller: Any) -> None:
    argocd.fail_next_sync("shop-web-dev", message="ImagePullBackOff: web:broken not found")
    result = run("deploy", "web", "dev", "--revision", "broken")
    assert result.exit_code == 1, result.output
    assert "failed" in result.stderr and "ImagePullBackOff: web:broken not found" in result.stderr
    assert "Traceback" not in result.output


def test_rollback_and_history(run: Run, shop: str, argocd: Any, deploy_poller: Any) -> None:
    assert run("deploy", "web", "dev", "-r", "v1").exit_code == 0
    assert run("deploy", "web", "dev", "-r", "v2").exit_code == 0
    rolled = run("rollback", "web", "dev", "-o", "json")
    assert rolled.exit_code == 0, rolled.output
    record = deploy_json(rolled)
    assert (record["kind"], record["revision"], record["state"]) == ("rollback", "v1", "succeeded")
    assert "rollback to dev @ v1" in rolled.stderr
    assert argocd.app("shop-web-dev")["spec"]["source"]["targetRevision"] == "v1"

    table = run("deployments", "web", "--env", "dev")
    assert table.exit_code == 0, table.output
    for text in ("ID", "KIND", "DECIDED BY", "DURATION", "rollback", "deploy", "v2", ALICE, record["id"][:8]):
        assert text in table.stdout
    history = json.loads(run("deployments", "shop/web", "--limit", "2", "-o", "json").stdout)
    assert [(d["kind"], d["revision"]) for d in history] == [("rollback", "v1"), ("deploy", "v2")]
    assert run("deployments", "web", "--env", "prod", "-o", "json").stdout.strip() == "[]"

    to_named = run("rollback", "web", "dev", "--to", "v2", "--no-wait", "-o", "json")
    assert to_named.exit_code == 0, to_named.output
    assert deploy_json(to_named)["revision"] == "v2"


def test_bad_input_and_refusals(run: Run, api: Any, shop: str, deploy_poller: Any) -> None:
    unknown_env = run("deploy", "web", "staging")
    assert unknown_env.exit_code == 1, unknown_env.output
    assert "staging" in unknown_env.stderr

    bad_revision = run("deploy", "web", "dev", "--revision", "-rf ..")
    assert bad_revision.exit_code == 2 and "revision" in bad_revision.stderr

    missing = run("deploy", "nope", "dev")
    assert missing.exit_code == 1 and "no app named 'nope'" in missing.stderr
    assert run("deploy", "Bad_App", "dev").exit_code == 2
    assert run("approve", "xyz").exit_code == 2
    assert run("deployment", "00000000-0000-4000-8000-000000000000").exit_code == 1

    make_tenant(api, "blog")  # a second app named web: the name alone is ambiguous
    assert run("app", "create", "blog/web", "--repo", REPO).exit_code == 0
    ambiguous = run("deploy", "web", "dev")
    assert ambiguous.exit_code == 2, ambiguous.output
    assert "several of your tenants: blog, shop" in ambiguous.stderr and "blog/web" in ambiguous.stderr
    assert run("deployments", "shop/web", "-o", "json").stdout.strip() == "[]"  # nothing was sent

    login_as(run, api, DAVE)  # a viewer reads but never deploys
    refused = run("deploy", "shop/web", "dev")
    assert refused.exit_code == 1, refused.output
    assert "forbidden" in refused.stderr
    assert run("deployments", "shop/web").exit_code == 0


def test_deploy_policy_show_and_set(run: Run, api: Any, shop: str) -> None:
    shown = run("deploy-policy", "show", "-o", "json")
    assert shown.exit_code == 0, shown.output
    policy = json.loads(shown.stdout)
    assert policy["approval_environments"] == ["prod"] and set(policy["approvers"]) >= {ALICE, BOB}

    changed = run("deploy-policy", "set", "--tenant", "shop", "--approval-env", "dev", "--channel", "C0DEPLOYS")
    assert changed.exit_code == 0, changed.output
    assert "C0DEPLOYS" in changed.stdout
    ttl = json.loads(run("deploy-policy", "set", "--tenant", "shop", "--ttl", "600", "-o", "json").stdout)
    assert (ttl["approval_environments"], ttl["approval_channel"], ttl["approval_ttl_seconds"]) == (
        ["dev"],
        "C0DEPLOYS",
        600,
    )
    cleared = json.loads(run("deploy-policy", "set", "-t", "shop", "--no-approval", "-o", "json").stdout)
    assert cleared["approval_environments"] == []

    bad = run("deploy-policy", "set", "--tenant", "shop", "--channel", "#general")
    assert bad.exit_code == 2 and "approval_channel" in bad.stderr
    login_as(run, api, CAROL)
    assert run("deploy-policy", "set", "--tenant", "shop", "--ttl", "120").exit_code == 1


# -- helpers --------------------------------------------------------------------------------
def wait_for(run: Run, deployment_id: str, state: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = json.loads(run("deployment", deployment_id, "-o", "json").stdout)
        if record["state"] == state or time.monotonic() > deadline:
            assert record["state"] == state, record
            return dict(record)
        time.sleep(0.1)


def approve_when_pending(api: Any, tenant: str, app_name: str, user: str, *, verb: str = "approve") -> threading.Thread:
    """A thread that decides (as `user`, over HTTP) the first deployment of the app that waits for approval."""

    def decide() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = api.call("GET", f"/tenants/{tenant}/apps/{app_name}/deployments", user=user)
            pending = [d for d in listed.json() if d["state"] == "pending_approval"] if listed.ok else []
            if pending:
                api.call("POST", f"/deployments/{pending[0]['id']}/{verb}", user=user, json={})
                return
            time.sleep(0.2)

    thread = threading.Thread(target=decide, daemon=True)
    thread.start()
    return thread


# -- the progress line, on its own ---------------------------------------------------------
def _deployment(state: str, **fields: Any) -> DeploymentRead:
    return DeploymentRead.model_validate(
        {
            "id": "6f1c2d3e-0000-4000-8000-000000000001",
            "tenant": "shop",
            "app": "web",
            "environment": "prod",
            "kind": "deploy",
            "revision": "v1",
            "state": state,
            "requested_by": ALICE,
            "requested_via": "cli",
            "requested_at": datetime(2025, 1, 1, tzinfo=UTC),
            "approval_required": True,
            **fields,
        }
    )


class FakeClient:
    """Answers GET /deployments/{id} from a script; anything else is not found."""

    def __init__(self, answers: list[DeploymentRead | Exception]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def get(self, path: str, answer: type[Any]) -> Any:
        self.calls.append(path)
        if not path.startswith("/deployments/"):
            raise api_unreachable("http://api", "no policy here")
        item = self.answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def stderr_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    yield lambda: capsys.readouterr().err


def test_progress_line_writes_one_line_per_state_when_not_a_terminal(stderr_lines: Callable[[], str]) -> None:
    clock = Clock()
    client = FakeClient(
        [
            _deployment("approved"),
            api_unreachable("http://api", "connection refused"),
            _deployment("syncing"),
            _deployment("syncing"),
            _deployment("succeeded", duration_seconds=2.0),
        ]
    )
    final, done = follow(
        client,
        _deployment("pending_approval"),
        timeout=None,
        sleep=clock.sleep,
        clock=clock,
        progress=ProgressLine(live=False),
    )
    assert done and final.state == "succeeded"
    err = stderr_lines()
    lines = err.splitlines()
    assert lines[0].startswith("deployment 6f1c2d3e needs approval by an owner or admin of shop other than")
    states = [line.split(": ")[1].split(" [")[0] for line in lines[1:]]
    assert states == ["pending approval", "approved", "approved", "syncing", "succeeded"]  # the retry shows once
    assert "connection refused; retrying" in err and "\r" not in err


def test_progress_line_rewrites_in_place_on_a_terminal(stderr_lines: Callable[[], str]) -> None:
    clock = Clock()
    client = FakeClient([_deployment("syncing"), _deployment("syncing"), _deployment("failed", message="boom")])
    final, done = follow(
        client,
        _deployment("approved"),
        timeout=None,
        sleep=clock.sleep,
        clock=clock,
        progress=ProgressLine(live=True),
    )
    assert done and final.state == "failed"
    err = stderr_lines()
    assert err.count("\r\x1b[2K") == 4 and err.endswith("\n") and err.count("\n") == 1
    assert "syncing [1s]" in err and "syncing [2s]" in err and "failed [3s] - boom" in err


def test_follow_stops_at_the_timeout_and_on_ctrl_c(stderr_lines: Callable[[], str]) -> None:
    clock = Clock()
    client = FakeClient([_deployment("syncing")] * 10)
    last, done = follow(
        client,
        _deployment("syncing"),
        timeout=3,
        sleep=clock.sleep,
        clock=clock,
        progress=ProgressLine(live=False),
    )
    assert not done and last.state == "syncing" and len(client.calls) == 3

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as stopped:
        follow(client, _deployment("syncing"), timeout=None, sleep=interrupt, progress=ProgressLine(live=False))
    assert stopped.value.exit_code == 130
    err = stderr_lines()
    assert "carries on" in err and "idp deployments shop/web --env prod" in err


class FlakyPoster:
    """Fails the first POSTs as given, then answers; records the Idempotency-Key of each attempt."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.keys: list[str] = []

    def post(self, path: str, answer: type[Any], body: Any, *, headers: dict[str, str]) -> Any:
        self.keys.append(headers["Idempotency-Key"])
        if self.failures:
            raise self.failures.pop(0)
        return _deployment("syncing")


def test_a_retried_post_reuses_its_idempotency_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploys.time, "sleep", lambda seconds: None)
    body = DeploymentCreate(environment="dev")
    flaky = FlakyPoster([api_unreachable("http://api", "connection reset"), error_from_response(502, None)])
    assert deploys._post_once(flaky, "/x", body, "cli-1").state == "syncing"
    assert flaky.keys == ["cli-1", "cli-1", "cli-1"]

    # A 4xx is an answer: never retried.
    refused = FlakyPoster([error_from_response(422, {"error": {"message": "unknown environment"}})])
    with pytest.raises(IdpError):
        deploys._post_once(refused, "/x", body, "cli-2")
    assert refused.keys == ["cli-2"]

    down = FlakyPoster([api_unreachable("http://api", "down")] * 5)
    with pytest.raises(IdpError, match="cannot reach the API"):
        deploys._post_once(down, "/x", body, "cli-3")
    assert len(down.keys) == deploys.POST_ATTEMPTS


@pytest.mark.parametrize(("seconds", "text"), [(None, "-"), (0.4, "0s"), (42, "42s"), (185, "3m05s"), (3725, "1h02m")])
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
