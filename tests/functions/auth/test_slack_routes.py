"""`POST /auth/slack/token` and `POST /auth/slack/links` end to end, through the local API Gateway:
only the chat-ops function (SigV4 with its role) gets a linked Slack user's token, with that
user's own rights, every exchange audited; links by one-time code and by the e-mail Slack itself
confirms."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.credentials import Credentials

from idp.clients.sigv4 import SigV4Auth
from idp.db import Database
from idp_local.emulators.slack import SlackEmulator
from idp_local.gateway import IamCredential, LocalGateway
from idp_local.gateway_iam import role_session_arn

ALICE, BOB = "alice@example.com", "bob@example.com"
ADMIN = "platform-admin@example.com"  # in PLATFORM_ADMINS (tests/conftest.py)
AUDIENCE = "idp-test-client"  # tests/conftest.py's TEST_OIDC_AUDIENCE
TEAM = "T0LOCAL"  # the Slack emulator's workspace
CHATOPS = Credentials("testing", "testing")  # the test AWS key: the chat-ops role's session (tests/conftest.py)


def _chatops(api: Any, path: str, body: dict[str, Any], credentials: Credentials = CHATOPS) -> requests.Response:
    auth = SigV4Auth(region="us-east-1", credentials=credentials)
    return requests.post(api.base_url + path, json=body, auth=auth, headers={"X-IDP-Client": "slack"}, timeout=30)


def _exchange(api: Any, slack_user_id: str, **kwargs: Any) -> requests.Response:
    return _chatops(api, "/auth/slack/token", {"team_id": TEAM, "slack_user_id": slack_user_id}, **kwargs)


def _sign_in(api: Any, oidc_issuer: Any, user: str) -> str:
    id_token = oidc_issuer.issue(f"oidc|{user}", email=user, name=user.split("@")[0], audience=AUDIENCE)
    response = api.call("POST", "/auth/token", user=None, json={"id_token": id_token})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _link_by_code(api: Any, token: str, slack_user_id: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    code = api.call("POST", "/auth/link-codes", user=None, headers=headers).json()["code"]
    return _chatops(api, "/auth/slack/links", {"team_id": TEAM, "slack_user_id": slack_user_id, "code": code})


def _as(api: Any, token: str, method: str, path: str) -> requests.Response:
    return api.call(method, path, user=None, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def slack_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack(api: Any, slack_emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> SlackEmulator:
    """The Slack workspace the auth function asks (`users.info`) when it links by e-mail."""
    from idp.config import reset_settings
    from idp.deps import reset_clients

    slack_emulator.reset()
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack_emulator.api_url)
    reset_settings()
    reset_clients()
    return slack_emulator


def test_the_auth_function_trusts_the_role_the_template_names(api: Any, gateway: LocalGateway) -> None:
    role = gateway.model.functions["AuthFunction"].environment["CHATOPS_ROLE_ARN"]
    assert role == os.environ["CHATOPS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/local-chatops"


def test_a_linked_user_gets_a_short_lived_token_with_their_own_rights(
    api: Any, db: Database, oidc_issuer: Any
) -> None:
    alice = _sign_in(api, oidc_issuer, ALICE)
    assert _link_by_code(api, alice, "U0ALICE").status_code == 201
    bobs = {"name": "bobs", "display_name": "Bob's", "environments": ["dev"]}
    assert api.call("POST", "/tenants", user=BOB, json=bobs).status_code == 201

    response = _exchange(api, "U0ALICE")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "user_id", "expires_at"} and body["user_id"] == ALICE
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=4) < expires_at - datetime.now(expires_at.tzinfo) <= timedelta(minutes=5)

    token = body["token"]
    me = _as(api, token, "GET", "/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == ALICE and me.json()["platform_admin"] is False
    assert _as(api, token, "GET", "/tenants/bobs").status_code == 404  # Bob's tenant: not hers
    assert _as(api, token, "GET", "/tenants").json() == []


def test_a_platform_admin_keeps_the_admin_claim_and_nobody_else_gets_it(
    api: Any, db: Database, oidc_issuer: Any
) -> None:
    for user, slack_user in ((ADMIN, "U0ADMIN"), (BOB, "U0BOB")):
        assert _link_by_code(api, _sign_in(api, oidc_issuer, user), slack_user).status_code == 201
    admin = _exchange(api, "U0ADMIN").json()["token"]
    bob = _exchange(api, "U0BOB").json()["token"]
    assert _as(api, admin, "GET", "/auth/me").json()["platform_admin"] is True
    assert _as(api, bob, "GET", "/auth/me").json()["platform_admin"] is False
    assert _as(api, bob, "GET", "/audit").status_code in (403, 404)


def test_every_exchange_is_audited_and_an_unlinked_user_gets_none(api: Any, db: Database, oidc_issuer: Any) -> None:
    assert _link_by_code(api, _sign_in(api, oidc_issuer, ALICE), "U0ALICE").status_code == 201
    assert _exchange(api, "U0ALICE").status_code == 200

    refused = _exchange(api, "U0NOBODY")
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "slack_not_linked"

    entries = db.rows(
        "SELECT actor, actor_kind, target, front_end, outcome, request_id, details::text AS details FROM audit_log"
        " WHERE action = 'slack.token_exchange' ORDER BY id"
    )
    assert [(e["actor"], e["actor_kind"], e["outcome"], e["front_end"]) for e in entries] == [
        (ALICE, "user", "ok", "slack"),
        ("slack:T0LOCAL/U0NOBODY", "anonymous", "denied", "slack"),
    ]
    assert entries[0]["target"] == ALICE and entries[0]["request_id"]
    assert json.loads(entries[0]["details"]) == {"slack_team_id": TEAM, "slack_user_id": "U0ALICE"}
    assert "token" not in str(entries)


def test_nobody_but_the_chatops_role_reaches_the_routes(
    api: Any, db: Database, oidc_issuer: Any, gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = _sign_in(api, oidc_issuer, ALICE)
    assert _link_by_code(api, alice, "U0ALICE").status_code == 201
    body = {"team_id": TEAM, "slack_user_id": "U0ALICE"}

    # A platform token, even a platform admin's: API Gateway wants a SigV4 signature.
    for user in (ALICE, ADMIN):
        as_user = api.call("POST", "/auth/slack/token", user=user, json=body)
        assert as_user.status_code == 403, as_user.text
        assert as_user.json()["error"]["code"] == "INVALID_SIGNATURE"
    # Unsigned: API Gateway's MISSING_AUTHENTICATION_TOKEN, which template.yaml answers as an unknown route.
    unsigned = requests.post(api.base_url + "/auth/slack/token", json=body, timeout=30)
    assert unsigned.status_code == 404 and unsigned.json()["error"]["code"] == "route_not_found"

    # A key API Gateway does not know.
    stranger = _exchange(api, "U0ALICE", credentials=Credentials("AKIASTRANGER", "testing"))
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "UNRECOGNIZED_CLIENT"

    # Another principal API Gateway authenticates (say, the tenant function's role): the gate refuses.
    other = role_session_arn("arn:aws:iam::123456789012:role/local-tenant", "tenant")
    monkeypatch.setitem(gateway.iam_credentials, "AKIATENANT", IamCredential("tenant-secret", other))
    as_other = _exchange(api, "U0ALICE", credentials=Credentials("AKIATENANT", "tenant-secret"))
    assert as_other.status_code == 403, as_other.text
    assert as_other.json()["error"] == {
        "code": "forbidden",
        "message": "only the chat-ops function may call this route",
        "details": None,
    }

    # The chat-ops key with a tampered signature.
    prepared = requests.Request(
        "POST", api.base_url + "/auth/slack/token", json=body, auth=SigV4Auth(region="us-east-1", credentials=CHATOPS)
    ).prepare()
    signature = str(prepared.headers["Authorization"])
    prepared.headers["Authorization"] = signature[:-4] + ("0000" if not signature.endswith("0000") else "1111")
    tampered = requests.Session().send(prepared, timeout=30)
    assert tampered.status_code == 403 and tampered.json()["error"]["code"] == "INVALID_SIGNATURE"

    # None of those was audited as an exchange: they never reached the auth function's flow.
    assert db.rows("SELECT * FROM audit_log WHERE action = 'slack.token_exchange'") == []
    assert _exchange(api, "U0ALICE").status_code == 200


def test_link_by_one_time_code(api: Any, db: Database, oidc_issuer: Any) -> None:
    alice = _sign_in(api, oidc_issuer, ALICE)
    headers = {"Authorization": f"Bearer {alice}"}
    code = api.call("POST", "/auth/link-codes", user=None, headers=headers).json()["code"]
    request = {"team_id": TEAM, "slack_user_id": "U0CAROL", "code": code}

    linked = _chatops(api, "/auth/slack/links", request)
    assert linked.status_code == 201, linked.text
    assert {k: linked.json()[k] for k in ("team_id", "slack_user_id", "user_id", "linked_via")} == {
        "team_id": TEAM,
        "slack_user_id": "U0CAROL",
        "user_id": ALICE,
        "linked_via": "code",
    }
    (entry,) = db.rows("SELECT actor, front_end, details::text AS details FROM audit_log WHERE action = 'slack.link'")
    assert entry["actor"] == ALICE and entry["front_end"] == "slack"
    assert json.loads(entry["details"])["linked_via"] == "code"

    again = _chatops(api, "/auth/slack/links", request)  # single use
    assert again.status_code == 422 and again.json()["error"]["code"] == "link_code_invalid"
    bad = _chatops(api, "/auth/slack/links", {**request, "slack_user_id": "not a slack id"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "slack_user_id"


def test_link_by_the_email_slack_confirms_never_one_we_are_told(
    api: Any, db: Database, oidc_issuer: Any, slack: SlackEmulator
) -> None:
    _sign_in(api, oidc_issuer, ALICE)
    _sign_in(api, oidc_issuer, BOB)
    slack.add_user("U0MALLORY", name="mallory", email="mallory@example.com", email_confirmed=False)

    # Mallory's Slack e-mail is not confirmed: naming Bob's e-mail in the request changes nothing.
    claimed = _chatops(api, "/auth/slack/links", {"team_id": TEAM, "slack_user_id": "U0MALLORY", "email": BOB})
    assert claimed.status_code == 404 and claimed.json()["error"]["code"] == "slack_not_linked"
    assert db.rows("SELECT * FROM slack_links") == []

    # Alice's is (the emulator's U0ALICE): the auth function asks Slack itself, with the bot token.
    linked = _chatops(api, "/auth/slack/links", {"team_id": TEAM, "slack_user_id": "U0ALICE"})
    assert linked.status_code == 201, linked.text
    assert linked.json()["user_id"] == ALICE and linked.json()["linked_via"] == "email"
    asked = [call.args.get("user") for call in slack.calls("users.info")]
    assert asked == ["U0MALLORY", "U0ALICE"]

    existing = _chatops(api, "/auth/slack/links", {"team_id": TEAM, "slack_user_id": "U0ALICE"})
    assert existing.status_code == 200 and existing.json()["linked_via"] == "email"
    assert len(slack.calls("users.info")) == 2  # an existing link needs no question to Slack
    (entry,) = db.rows("SELECT actor, details::text AS details FROM audit_log WHERE action = 'slack.link'")
    assert entry["actor"] == ALICE and json.loads(entry["details"])["linked_via"] == "email"
    assert _exchange(api, "U0ALICE").json()["user_id"] == ALICE
