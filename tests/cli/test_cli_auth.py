"""`idp login|logout|whoami` over real HTTP against the local platform, and how errors end."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import Result
from typer.testing import CliRunner

from idp_cli.main import app

Run = Callable[..., Result]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private config directory and no ambient CLI settings."""
    for name in ("IDP_TOKEN", "IDP_OUTPUT", "IDP_API_URL", "IDP_OIDC_ISSUER", "IDP_OIDC_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("IDP_STATE_DIR", str(tmp_path / "state"))  # no `make dev` state
    return tmp_path / "config"


@pytest.fixture
def run(cli_env: Path) -> Run:
    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input)

    return invoke


def test_login_with_a_token_then_whoami(api: Any, run: Run, cli_env: Path) -> None:
    result = run("login", "--api-url", api.base_url, "--token", api.token("alice@example.com"))
    assert result.exit_code == 0, result.output
    assert "Signed in" in result.stderr and "alice@example.com" in result.stderr
    config_file = cli_env / "config.json"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    stored = json.loads(config_file.read_text())
    assert stored["api_url"] == api.base_url and stored["token_kind"] == "platform"

    result = run("whoami", "-o", "json")  # the API URL and token come from the config file
    assert result.exit_code == 0, result.output
    me = json.loads(result.stdout)
    assert me["user_id"] == "alice@example.com" and me["kind"] == "user"

    table = run("whoami")
    assert table.exit_code == 0 and "alice@example.com" in table.stdout and "platform admin" in table.stdout

    assert run("logout").exit_code == 0
    result = run("whoami")
    assert result.exit_code == 2 and "not signed in" in result.stderr and "idp login" in result.stderr
    assert "Traceback" not in result.output


def test_login_with_a_bad_token_is_refused_and_not_stored(api: Any, run: Run, cli_env: Path) -> None:
    result = run("login", "--api-url", api.base_url, "--token", "not-a-real-token")
    assert result.exit_code == 1, result.output
    assert "error:" in result.stderr and "idp login" in result.stderr
    assert not (cli_env / "config.json").exists()


def test_login_with_the_device_flow(api: Any, oidc_issuer: Any, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real command in a subprocess: it prints the code, a person approves it, it polls, exchanges, stores."""
    monkeypatch.setattr(oidc_issuer, "device_interval", 1)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "idp_cli.main", "login", "--api-url", api.base_url]
    command += ["--issuer", oidc_issuer.url, "--client-id", "idp-test-client"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        seen = []
        code = None
        for line in proc.stderr:
            seen.append(line)
            if "confirm the code:" in line:
                code = line.split(":", 1)[1].strip()
                break
        assert code, "".join(seen)
        assert any(f"{oidc_issuer.url}/device?user_code={code}" in line for line in seen), seen
        approved = requests.get(
            f"{oidc_issuer.url}/device", params={"user_code": code, "user": "alice@example.com"}, timeout=10
        )
        assert approved.status_code == 200
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(seen) + stderr
    assert "Signed in" in stderr and "alice@example.com" in stderr and stdout == ""
    stored = json.loads((cli_env / "config.json").read_text())
    assert stored["oidc_issuer"] == oidc_issuer.url and stored["client_id"] == "idp-test-client"

    me = CliRunner().invoke(app, ["whoami", "-o", "json"])
    assert me.exit_code == 0, me.output
    assert json.loads(me.stdout)["email"] == "alice@example.com"


def test_login_needs_an_issuer_for_the_device_flow(api: Any, run: Run) -> None:
    result = run("login", "--api-url", api.base_url)
    assert result.exit_code == 2 and "no OIDC issuer" in result.stderr and "--issuer" in result.stderr


def test_no_api_url_is_a_local_error(run: Run) -> None:
    result = run("tenant", "list")
    assert result.exit_code == 2 and "no API URL" in result.stderr and "--api-url" in result.stderr


def test_unreachable_api_exits_3(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    from idp_local.dev import free_port

    monkeypatch.setenv("IDP_TOKEN", "whatever")
    result = run("--api-url", f"http://127.0.0.1:{free_port()}/v1", "tenant", "list")
    assert result.exit_code == 3, result.output
    assert "cannot reach the API" in result.stderr and "Traceback" not in result.output


@pytest.fixture
def failing_api() -> Iterator[str]:
    """An API that answers every request with a 503 in the platform's error shape."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"error": {"code": "downstream_error", "message": "Kubernetes is down", "details": None}})
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_server_errors_exit_3_with_the_api_message(run: Run, failing_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_TOKEN", "whatever")
    result = run("tenant", "list", "--api-url", failing_api)
    assert result.exit_code == 3 and "Kubernetes is down (downstream_error)" in result.stderr


def test_a_stored_token_is_not_sent_to_another_api(api: Any, run: Run, failing_api: str) -> None:
    assert run("login", "--api-url", api.base_url, "--token", api.token("alice@example.com")).exit_code == 0
    result = run("tenant", "list", "--api-url", failing_api)
    assert result.exit_code == 2 and f"not signed in to {failing_api}" in result.stderr
