"""Operator commands of the `idp` CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from idp_cli.main import app


def test_rotate_keys_keeps_the_previous_public_key(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from idp.auth.keys import ensure_keys
    from idp.config import reset_settings

    for key, value in {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "JWT_KEYS_SECRET_ID": "idp/test/cli-rotation",
    }.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    client: Any = boto3.client("secretsmanager")
    ensure_keys(client, "idp/test/cli-rotation")
    before = json.loads(client.get_secret_value(SecretId="idp/test/cli-rotation")["SecretString"])

    result = CliRunner().invoke(app, ["rotate-keys"])
    assert result.exit_code == 0, result.output
    after = json.loads(client.get_secret_value(SecretId="idp/test/cli-rotation")["SecretString"])
    assert after["current"]["kid"] != before["current"]["kid"]
    assert before["current"]["kid"] in [k["kid"] for k in after["previous"]]
    assert "private_pem" not in result.output and "PRIVATE" not in result.output
    reset_settings()


def test_rotate_keys_needs_the_secret_id(monkeypatch: pytest.MonkeyPatch) -> None:
    from idp.config import reset_settings

    monkeypatch.delenv("JWT_KEYS_SECRET_ID", raising=False)
    reset_settings()
    result = CliRunner().invoke(app, ["rotate-keys"])
    assert result.exit_code == 2 and "JWT_KEYS_SECRET_ID" in result.output


def test_link_prints_a_code_for_slack(
    api: Any, oidc_issuer: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from idp_local.dev import local_token

    # A real sign-in (device flow + exchange) creates the user.
    token = local_token(
        "alice@example.com", api_url=api.base_url, oidc_issuer=oidc_issuer.url, client_id="idp-test-client"
    )
    monkeypatch.setenv("IDP_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("IDP_TOKEN", token)
    result = CliRunner().invoke(app, ["link", "--api-url", api.base_url])
    assert result.exit_code == 0, result.output
    assert "In Slack, type: /idp link " in result.output


def test_link_reports_api_errors(api: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("IDP_TOKEN", "bad")
    result = CliRunner().invoke(app, ["link", "--api-url", api.base_url])
    assert result.exit_code == 1 and "token is malformed" in result.output
