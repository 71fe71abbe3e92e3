"""`idp dev` on a bare machine: every stand-in starts, is announced, and the API works end to end."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import requests

from idp.clients.kubernetes import reset_kube_client
from idp.config import reset_settings
from idp.db import reset_database
from idp_local.dev import DevPlatform, free_port, local_token

CONFIGURED = (
    "DATABASE_URL",
    "DATABASE_SCHEMA",
    "AWS_ENDPOINT_URL",
    "KUBECONFIG",
    "JWT_KEYS_SECRET_ID",
    "OIDC_ISSUER",
    "OIDC_AUDIENCE",
    "PLATFORM_ADMINS",
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "SLACK_SIGNING_SECRET",
    "IDP_API_URL",
)


def test_dev_platform_on_embedded_defaults(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    saved = dict(os.environ)
    for name in CONFIGURED:
        os.environ.pop(name, None)
    os.environ["IDP_KUBE_EMULATOR_PORT"] = str(free_port())
    os.environ["IDP_OIDC_PORT"] = str(free_port())
    os.environ["IDP_SLACK_PORT"] = str(free_port())
    reset_settings()
    reset_database()
    reset_kube_client()
    caplog.set_level(logging.INFO, logger="idp.dev")
    platform = DevPlatform(port=free_port(), state_dir=tmp_path)
    try:
        platform.start()
        announced = "\n".join(r.getMessage() for r in caplog.records)
        assert "started embedded pgserver" in announced
        assert "started moto server" in announced
        assert "started the Kubernetes API emulator" in announced
        assert "started the local OIDC issuer" in announced
        assert "started the Slack emulator" in announced
        assert "Platform token keys: Secrets Manager secret" in announced
        assert "Migrations: 0001_tenants.sql" in announced
        assert platform.oidc_url is not None

        # Signing in for real: the device flow at the local issuer, then POST /auth/token.
        token = local_token("alice@example.com", api_url=platform.api_url, oidc_issuer=platform.oidc_url)
        me = requests.get(platform.api_url + "/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == "alice@example.com"
        created = requests.post(
            platform.api_url + "/tenants",
            json={"name": "payments", "display_name": "Payments", "environments": ["dev"]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        quotas = requests.get(
            platform.kube_url + "/_emulator/objects",
            params={"resource": "resourcequotas", "namespace": "payments-dev"},
            timeout=5,
        ).json()
        assert [q["metadata"]["name"] for q in quotas] == ["idp-quota"]
    finally:
        platform.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        reset_database()
        reset_kube_client()
