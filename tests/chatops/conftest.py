"""The chat-ops app behind the local gateway, talking to the Slack emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.config import reset_settings
from idp_local.emulators.slack import SlackEmulator
from idp_local.gateway import LocalGateway

AUDIENCE = "idp-test-client"  # tests/conftest.py's TEST_OIDC_AUDIENCE


@pytest.fixture(scope="session")
def slack_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack(
    api: Any, slack_emulator: SlackEmulator, gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> SlackEmulator:
    """The emulator, emptied, with the chat-ops function configured to use it and the gateway."""
    slack_emulator.reset()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", slack_emulator.signing_secret)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack_emulator.api_url)
    monkeypatch.setenv("IDP_API_URL", gateway.url)
    reset_settings()
    return slack_emulator


@pytest.fixture
def app_url(gateway: LocalGateway) -> str:
    return f"{gateway.url}/slack/events"


def sign_in(api: Any, oidc_issuer: Any, user: str) -> str:
    """Signs `user` in through the OIDC issuer (so the platform knows them); their token."""
    id_token = oidc_issuer.issue(f"oidc|{user}", email=user, name=user.split("@")[0], audience=AUDIENCE)
    response = api.call("POST", "/auth/token", user=None, json={"id_token": id_token})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
