"""`idp tenant|member|token` over real HTTP against the local platform: parse, call, render, fail."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from idp_cli.main import app

Run = Callable[..., Result]


@pytest.fixture
def run(api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI with a private config directory, signed in to the test platform as alice."""
    for name in ("IDP_TOKEN", "IDP_OUTPUT", "IDP_API_URL", "IDP_OIDC_ISSUER", "IDP_OIDC_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("IDP_STATE_DIR", str(tmp_path / "state"))
    # The functions run in this process: keep their metric lines off the stdout CliRunner captures.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input)

    signed_in = invoke("login", "--api-url", api.base_url, "--token", api.token("alice@example.com"))
    assert signed_in.exit_code == 0, signed_in.output
    return invoke


def login_as(run: Run, api: Any, user: str) -> None:
    result = run("login", "--api-url", api.base_url, "--token", api.token(user))
    assert result.exit_code == 0, result.output


def test_tenant_create_list_show_delete(run: Run, api: Any) -> None:
    result = run(
        "tenant", "create", "payments", "--display-name", "Payments team", "--env", "dev", "--env", "prod",
        "--quota", "prod:cpu=8,memory=16Gi,pods=100,storage=200Gi", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    tenant = json.loads(result.stdout)
    assert tenant["name"] == "payments" and tenant["status"] == "ready"
    assert tenant["environments"] == ["dev", "prod"]
    assert tenant["quotas"]["prod"] == {"cpu": "8", "memory": "16Gi", "pods": 100, "storage": "200Gi"}
    assert tenant["namespaces"] == {"dev": "payments-dev", "prod": "payments-prod"}

    table = run("tenant", "list")
    assert table.exit_code == 0 and "payments" in table.stdout and "Payments team" in table.stdout
    listed = yaml.safe_load(run("--output", "yaml", "tenant", "list").stdout)
    assert [t["name"] for t in listed] == ["payments"]

    shown = run("tenant", "show", "payments")
    assert shown.exit_code == 0, shown.output
    assert "payments-prod" in shown.stdout and "16Gi" in shown.stdout and "ready" in shown.stdout

    refused = run("tenant", "delete", "payments")  # not a terminal and no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr

    deleted = run("tenant", "delete", "payments", "--yes", "-o", "json")
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout)["status"] == "deleted"


def test_output_format_from_the_environment(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("tenant", "create", "web", "--env", "dev").exit_code == 0
    monkeypatch.setenv("IDP_OUTPUT", "yaml")
    result = run("tenant", "show", "web")
    assert result.exit_code == 0 and yaml.safe_load(result.stdout)["name"] == "web"
    assert json.loads(run("tenant", "show", "web", "-o", "json").stdout)["display_name"] == "web"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tenant", "create", "Bad_Name", "--display-name", "x"], "name: must be a DNS-1123 label"),
        (["tenant", "create", "web", "--env", "dev", "--quota", "prod:cpu=2"], "quotas name environments"),
        (["tenant", "create", "web", "--quota", "prod:cpu=lots"], "quotas.prod.cpu"),
        (["tenant", "create", "web", "--quota", "prod"], "expected ENV:key=value"),
        (["tenant", "create", "web", "--quota", "prod:gpus=1"], "unknown key 'gpus'"),
        (["tenant", "show", "Not/A/Name"], "invalid tenant name"),
        (["tenant", "create", "web", "--repo", "ftp://github.com/acme/web"], "'ftp://github.com/acme/web'"),
        (["tenant", "create", "default"], "'default' is reserved"),
        (["tenant", "update", "web"], "nothing to change"),
        (["tenant", "update", "web", "--repo", "https://github.com/acme/web", "--no-repos"], "contradict"),
        (["tenant", "update", "web", "--repo", "https://github.com/*"], "'https://github.com/*'"),
        (["member", "add", "web", "bob@example.com", "superuser"], "role"),
        (["token", "create", "web", "ci", "--role", "owner"], "role"),
        (["token", "create", "web", "ci", "--role", "developer", "--expires-in-days", "0"], "expires_in_days"),
        (["tenant", "list", "-o", "xml"], "xml"),
    ],
)
def test_bad_input_is_a_local_error(run: Run, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_api_errors_exit_1_with_the_api_message(run: Run, api: Any) -> None:
    missing = run("tenant", "show", "nope")
    assert missing.exit_code == 1 and "tenant 'nope' not found" in missing.stderr

    assert run("tenant", "create", "web", "--env", "dev").exit_code == 0
    assert run("member", "add", "web", "bob@example.com", "viewer").exit_code == 0
    login_as(run, api, "bob@example.com")
    forbidden = run("member", "add", "web", "carol@example.com", "developer")
    assert forbidden.exit_code == 1, forbidden.output
    assert "error:" in forbidden.stderr and "(forbidden)" in forbidden.stderr
    assert "Traceback" not in forbidden.output


def test_members_add_list_remove(run: Run, api: Any) -> None:
    assert run("tenant", "create", "web", "--env", "dev").exit_code == 0
    added = run("member", "add", "web", "bob@example.com", "developer", "-o", "json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["role"] == "developer"
    listed = run("member", "list", "web")
    assert "bob@example.com" in listed.stdout and "developer" in listed.stdout

    login_as(run, api, "bob@example.com")
    me = json.loads(run("whoami", "-o", "json").stdout)
    assert {"name": "web", "role": "developer"} in me["tenants"]

    login_as(run, api, "alice@example.com")
    removed = run("member", "remove", "web", "bob@example.com")
    assert removed.exit_code == 0 and "removed" in removed.stderr
    members = json.loads(run("member", "list", "web", "-o", "json").stdout)
    assert [m["user"] for m in members] == ["alice@example.com"]


def test_tokens_create_list_revoke_and_sign_in_with_one(run: Run, api: Any) -> None:
    assert run("tenant", "create", "web", "--env", "dev").exit_code == 0
    created = run("token", "create", "web", "ci", "--role", "developer", "--expires-in-days", "30")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("idp_sa_") and "\n" not in token
    assert "will not be shown again" in created.stderr

    accounts = json.loads(run("token", "list", "web", "-o", "json").stdout)
    assert [(a["name"], a["role"]) for a in accounts] == [("ci", "developer")]
    assert token not in run("token", "list", "web").stdout

    assert run("login", "--api-url", api.base_url, "--token", token).exit_code == 0
    shown = run("tenant", "show", "web", "-o", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["name"] == "web"
    me = json.loads(run("whoami", "-o", "json").stdout)
    assert me["kind"] == "service_account"

    login_as(run, api, "alice@example.com")
    revoked = run("token", "revoke", "web", "ci")
    assert revoked.exit_code == 0 and "revoked" in revoked.stderr
    assert json.loads(run("token", "list", "web", "-o", "json").stdout)[0]["revoked_at"]

    assert run("login", "--api-url", api.base_url, "--token", token).exit_code == 1  # revoked: refused, not stored


def test_tenant_repositories_create_update_show(run: Run, api: Any, argocd: Any) -> None:
    web, cli_api = "https://github.com/acme/web", "git@github.com:acme/api"
    created = run("tenant", "create", "web", "--env", "dev", "--repo", web + ".git", "--repo", cli_api, "-o", "json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["repositories"] == [cli_api, web]
    (project,) = [p for p in argocd.projects() if p["metadata"]["name"] == "web"]
    assert project["spec"]["sourceRepos"] == [cli_api, web]

    shown = run("tenant", "show", "web")
    assert shown.exit_code == 0 and web in shown.stdout and cli_api in shown.stdout

    updated = run("tenant", "update", "web", "--repo", web, "-o", "json")
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["repositories"] == [web]
    (project,) = [p for p in argocd.projects() if p["metadata"]["name"] == "web"]
    assert project["spec"]["sourceRepos"] == [web]

    renamed = run("tenant", "update", "web", "--display-name", "Web team", "-o", "json")
    assert renamed.exit_code == 0, renamed.output
    assert json.loads(renamed.stdout)["display_name"] == "Web team"
    assert json.loads(renamed.stdout)["repositories"] == [web]

    cleared = run("tenant", "update", "web", "--no-repos")
    assert cleared.exit_code == 0, cleared.output
    assert "Web team" in cleared.stdout
    assert json.loads(run("tenant", "show", "web", "-o", "json").stdout)["repositories"] == []

    missing = run("tenant", "update", "nope", "--no-repos")
    assert missing.exit_code == 1 and "tenant 'nope' not found" in missing.stderr
