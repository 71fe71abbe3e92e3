"""`idp dev` on a bare machine: every stand-in starts, is announced, and the API works end to end."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest
import requests

from idp.clients.kubernetes import reset_kube_client
from idp.config import reset_settings
from idp.db import reset_database
from idp.deps import reset_clients
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
    "CHATOPS_ROLE_ARN",
    "ARGOCD_URL",
    "ARGOCD_TOKEN",
    "ARGOCD_TOKEN_SECRET_ID",
    "DEPLOY_POLL_INTERVAL_SECONDS",
    "AWS_SESSION_TOKEN",
    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
    "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
)


def test_dev_platform_on_embedded_defaults(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    saved = dict(os.environ)
    for name in CONFIGURED:
        os.environ.pop(name, None)
    os.environ["IDP_KUBE_EMULATOR_PORT"] = str(free_port())
    os.environ["IDP_OIDC_PORT"] = str(free_port())
    os.environ["IDP_SLACK_PORT"] = str(free_port())
    os.environ["IDP_ARGOCD_PORT"] = str(free_port())
    os.environ["IDP_SECRETS_EXTENSION_PORT"] = str(free_port())
    reset_settings()
    reset_database()
    reset_kube_client()
    reset_clients()
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
        assert "started the Argo CD emulator" in announced and "stands in for Argo CD" in announced
        assert "Deploy poller: a background thread polls every 1 s" in announced
        assert "stands in for the EventBridge schedule" in announced
        assert "Platform token keys: Secrets Manager secret" in announced
        # Every function reads its secrets through the emulated Parameters and Secrets extension.
        assert "the AWS Parameters and Secrets extension's endpoint emulated at" in announced
        assert os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == os.environ["IDP_SECRETS_EXTENSION_PORT"]
        assert "Migrations: 0001_tenants.sql" in announced
        assert platform.oidc_url is not None

        # Signing in for real: the device flow at the local issuer, then POST /auth/token.
        token = local_token("alice@example.com", api_url=platform.api_url, oidc_issuer=platform.oidc_url)
        me = requests.get(platform.api_url + "/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == "alice@example.com"
        created = requests.post(
            platform.api_url + "/tenants",
            json={
                "name": "payments",
                "display_name": "Payments",
                "environments": ["dev"],
                "repositories": ["https://github.com/acme/web"],
            },
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

        # The functions talk to the Argo CD emulator: the tenant has its AppProject there.
        state = json.loads((tmp_path / "dev.json").read_text())
        assert state["argocd_url"] == platform.argocd_url == os.environ["ARGOCD_URL"]
        assert state["argocd_emulator"] is True
        argocd = requests.Session()
        argocd.headers["Authorization"] = f"Bearer {os.environ['ARGOCD_TOKEN']}"
        project = argocd.get(f"{platform.argocd_url}/api/v1/projects/payments", timeout=5)
        assert project.status_code == 200, project.text

        # A deploy: the API starts the sync, the poller thread records its outcome.
        auth = {"Authorization": f"Bearer {token}"}
        app = {"name": "web", "repo_url": "https://github.com/acme/web"}
        created_app = requests.post(platform.api_url + "/tenants/payments/apps", json=app, headers=auth, timeout=30)
        assert created_app.status_code == 201, created_app.text
        deploy = requests.post(
            platform.api_url + "/tenants/payments/apps/web/deployments",
            json={"environment": "dev", "revision": "v1.0.0"},
            headers=auth,
            timeout=30,
        )
        assert deploy.status_code == 202, deploy.text
        deployment = deploy.json()
        deadline = time.monotonic() + 20
        while deployment["state"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            url = f"{platform.api_url}/deployments/{deployment['id']}"
            deployment = requests.get(url, headers=auth, timeout=30).json()
        assert deployment["state"] == "succeeded", deployment
        live = argocd.get(f"{platform.argocd_url}/api/v1/applications/payments-web-dev", timeout=5).json()
        assert live["status"]["sync"]["revision"] == "v1.0.0"

        # `idp chat`: the chat-ops function gets Alice's token from the auth function, signing with
        # this process's AWS credentials, which the dev gateway knows as the chat-ops role.
        from idp_local.emulators.slack import EmulatorControl, chat

        assert platform.slack_url is not None
        app_url = f"{platform.api_url}/slack/events"
        events = list(chat(EmulatorControl(platform.slack_url), app_url, "tenant list", timeout=15, quiet=0.5))
        assert any("payments" in event.text for event in events), events
    finally:
        platform.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        reset_database()
        reset_kube_client()
        reset_clients()
