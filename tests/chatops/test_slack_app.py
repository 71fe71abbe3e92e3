"""The Slack chat-ops app end to end: signed requests from the Slack emulator through the local
API Gateway into the Chalice + Bolt function, which calls the platform API as the linked user."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import requests

from idp.db import Database
from idp_local.emulators.slack import SlackEmulator, render_text, sign_request

from .conftest import sign_in

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def _replies(slack: SlackEmulator, count: int = 1) -> list[str]:
    assert slack.wait_for(lambda: len(slack.responses()) >= count), "no reply on the response_url"
    return [render_text(r.get("blocks") or []) + "\n" + str(r.get("text", "")) for r in slack.responses()]


def _ephemeral(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("response_type") == "ephemeral", body
    return render_text(body)  # as a person reads it (Slack's &lt; escapes undone)


def _create_tenant(api: Any, name: str = "payments", user: str = ALICE) -> None:
    body = {"name": name, "display_name": name.title(), "environments": ["dev"]}
    response = api.call("POST", "/tenants", user=user, json=body)
    assert response.status_code == 201, response.text


def test_a_forged_signature_is_refused(slack: SlackEmulator, app_url: str) -> None:
    response = slack.send_command(app_url, "help", signing_secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_slack_signature"


def test_what_no_slack_request_holds_is_refused_before_bolt_parses_it(slack: SlackEmulator, app_url: str) -> None:
    # Found by the contract fuzz: Bolt built its context from these before verifying (a 500, or its error
    # handler's 200); and Chalice answered other media types with its own 415.
    now = str(int(time.time()))
    for headers, body in (
        ({"Content-Type": "application/json", "X-Slack-Request-Timestamp": now}, "[null, null]"),
        ({"Content-Type": "application/json", "X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""}, "{}"),
        ({"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "²"}, "command=%2Fidp"),
        ({"Content-Type": "text/plain"}, "hello"),
    ):
        response = requests.post(app_url, data=body.encode(), headers=headers, timeout=30)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "invalid_slack_signature"
    signed = json.dumps([None, None])
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(timestamp)}
    headers["X-Slack-Signature"] = sign_request("not-the-secret", timestamp, signed)
    assert requests.post(app_url, data=signed, headers=headers, timeout=30).status_code == 401


def test_a_signed_body_that_no_slack_request_holds_is_400(slack: SlackEmulator, app_url: str) -> None:
    for content_type, body in (
        ("application/json", "[null, null]"),
        ("application/json", "{not json"),
        ("application/x-www-form-urlencoded", ""),
        ("text/plain", "hello"),
    ):
        timestamp = int(time.time())
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp)}
        headers["X-Slack-Signature"] = sign_request(slack.signing_secret, timestamp, body)
        response = requests.post(app_url, data=body.encode(), headers=headers, timeout=30)
        assert response.status_code == 400, (content_type, body, response.text)
        assert response.json()["error"]["code"] == "invalid_slack_request"


def test_a_stale_timestamp_is_refused(slack: SlackEmulator, app_url: str) -> None:
    response = slack.send_command(app_url, "help", timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert slack.send_command(app_url, "help", timestamp=int(time.time()) - 200).status_code == 200


def test_help_and_bad_commands_answer_with_the_usage(slack: SlackEmulator, app_url: str) -> None:
    assert "/idp tenant list" in _ephemeral(slack.send_command(app_url, "help"))
    text = _ephemeral(slack.send_command(app_url, "frobnicate now"))
    assert "Unknown command" in text and "/idp tenant create" in text
    text = _ephemeral(slack.send_command(app_url, "tenant add-member payments bob admin"))
    assert "@mention" in text
    text = _ephemeral(slack.send_command(app_url, "tenant add-member payments <@U0BOB|bob> overlord"))
    assert "Unknown role" in text


def test_an_unlinked_user_is_asked_to_link(slack: SlackEmulator, app_url: str) -> None:
    # Bob's Slack e-mail is confirmed, but he never signed in to the platform.
    text = _ephemeral(slack.send_command(app_url, "tenant list", user_id="U0BOB"))
    assert "link your account: run `idp link`" in text.lower() and "/idp link <code>" in text
    assert slack.responses() == []


def test_link_with_a_code_then_whoami(
    api: Any, db: Database, oidc_issuer: Any, slack: SlackEmulator, app_url: str
) -> None:
    # Carol's Slack e-mail is not confirmed: only a code can link her.
    slack.add_user("U0CAROL", name="carol", email=CAROL, email_confirmed=False)
    token = sign_in(api, oidc_issuer, CAROL)
    code = api.call("POST", "/auth/link-codes", user=None, headers={"Authorization": f"Bearer {token}"}).json()["code"]
    assert "link your account" in _ephemeral(slack.send_command(app_url, "whoami", user_id="U0CAROL")).lower()

    text = _ephemeral(slack.send_command(app_url, f"link {code}", user_id="U0CAROL"))
    assert "Linked" in text and CAROL in text
    (link,) = db.rows("SELECT user_id, linked_via FROM slack_links WHERE slack_user_id = 'U0CAROL'")
    assert link == {"user_id": CAROL, "linked_via": "code"}
    (entry,) = db.rows("SELECT actor, front_end FROM audit_log WHERE action = 'slack.link'")
    assert entry == {"actor": CAROL, "front_end": "slack"}
    assert "invalid or has expired" in _ephemeral(slack.send_command(app_url, f"link {code}", user_id="U0CAROL"))

    assert slack.send_command(app_url, "whoami", user_id="U0CAROL").status_code == 200
    assert CAROL in _replies(slack)[0]


def test_tenant_list_end_to_end(
    api: Any, db: Database, oidc_issuer: Any, slack: SlackEmulator, app_url: str
) -> None:
    sign_in(api, oidc_issuer, ALICE)  # U0ALICE's confirmed e-mail links her on first use
    _create_tenant(api, "payments")
    response = slack.send_command(app_url, "tenant list")
    assert response.status_code == 200, response.text
    (text,) = _replies(slack)
    assert "payments" in text and "[Details]" in text
    # The auth function linked her (asking Slack itself) and handed chat-ops her token, each time
    # audited: refused before the link, then one exchange for the ack and one for the lazy work.
    (link,) = db.rows("SELECT actor, front_end FROM audit_log WHERE action = 'slack.link'")
    assert link == {"actor": ALICE, "front_end": "slack"}
    exchanges = db.rows("SELECT actor, outcome FROM audit_log WHERE action = 'slack.token_exchange' ORDER BY id")
    assert [e["outcome"] for e in exchanges] == ["denied", "ok", "ok"]
    assert {e["actor"] for e in exchanges[1:]} == {ALICE}
    assert [c.args.get("user") for c in slack.calls("users.info")] == ["U0ALICE"]


def test_a_duplicated_delivery_acts_once(api: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str) -> None:
    sign_in(api, oidc_issuer, ALICE)
    form = slack.command_form("tenant list", command="/idp", user_id="U0ALICE", channel_id="C0GENERAL")
    body = urlencode(form)
    for _ in range(2):
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign_request(slack.signing_secret, ts, body),
        }
        assert requests.post(app_url, data=body, headers=headers, timeout=30).status_code == 200
    time.sleep(0.3)
    assert len(slack.responses()) == 1


def _open_create_modal(slack: SlackEmulator, app_url: str) -> dict[str, Any]:
    response = slack.send_command(app_url, "tenant create")
    assert response.status_code == 200, response.text
    (call,) = slack.calls("views.open")
    assert call.ok, call.response
    return dict(call.response["view"])


def _submission(view: dict[str, Any], name: str, display_name: str, environments: str) -> dict[str, Any]:
    values = {
        "tenant_name": {"tenant_name_input": {"type": "plain_text_input", "value": name}},
        "tenant_display_name": {"tenant_display_name_input": {"type": "plain_text_input", "value": display_name}},
        "tenant_environments": {"tenant_environments_input": {"type": "plain_text_input", "value": environments}},
    }
    return {"type": "view_submission", "view": {**view, "state": {"values": values}}}


def test_tenant_create_shows_field_errors_in_the_modal_then_creates(
    api: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str
) -> None:
    sign_in(api, oidc_issuer, ALICE)
    view = _open_create_modal(slack, app_url)
    assert view["callback_id"] == "idp_tenant_create"

    bad = slack.send_interaction(app_url, _submission(view, "Bad_Name", "", "dev"))
    assert bad.status_code == 200, bad.text
    answer = bad.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"tenant_name", "tenant_display_name"}
    assert api.call("GET", "/tenants/bad-name", user=ALICE).status_code == 404

    good = slack.send_interaction(app_url, _submission(view, "checkout", "Checkout team", "dev, prod"))
    assert good.status_code == 200, good.text
    assert not good.content or "response_action" not in good.json()
    (text,) = _replies(slack)
    assert "checkout" in text
    created = api.call("GET", "/tenants/checkout", user=ALICE)
    assert created.status_code == 200, created.text
    assert created.json()["environments"] == ["dev", "prod"]


def test_a_resubmitted_modal_creates_once(api: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str) -> None:
    sign_in(api, oidc_issuer, ALICE)
    view = _open_create_modal(slack, app_url)
    payload = {**_submission(view, "orders", "Orders", "dev"), "trigger_id": "13345224609.738474920.8088930838"}
    for _ in range(2):
        assert slack.send_interaction(app_url, payload).status_code == 200
    time.sleep(0.3)
    assert len(slack.responses()) == 1


def test_a_viewer_adding_a_member_gets_a_clear_refusal(
    api: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str
) -> None:
    sign_in(api, oidc_issuer, ALICE)
    sign_in(api, oidc_issuer, BOB)
    _create_tenant(api, "payments")
    added = api.call("POST", "/tenants/payments/members", user=ALICE, json={"user": BOB, "role": "viewer"})
    assert added.status_code == 201, added.text

    assert slack.send_command(app_url, "tenant add-member payments <@U0ALICE|alice> viewer", user_id="U0BOB").ok
    (text,) = _replies(slack)
    assert "role 'viewer' may not" in text and "Traceback" not in text


def test_an_owner_adds_a_linked_member(api: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str) -> None:
    sign_in(api, oidc_issuer, ALICE)
    sign_in(api, oidc_issuer, BOB)
    _create_tenant(api, "payments")
    slack.send_command(app_url, "help", user_id="U0BOB")  # Bob's first use links him by e-mail
    assert slack.send_command(app_url, "tenant add-member payments <@U0BOB|bob> developer").ok
    (text,) = _replies(slack)
    assert BOB in text and "developer" in text
    members = api.call("GET", "/tenants/payments/members", user=ALICE).json()
    assert {"user": BOB, "role": "developer"}.items() <= next(m for m in members if m["user"] == BOB).items()

    slack.add_user("U0DAVE", name="dave", email="dave@example.com", email_confirmed=False)
    assert slack.send_command(app_url, "tenant add-member payments <@U0DAVE|dave> viewer").ok
    texts = _replies(slack, 2)
    assert "has not linked their Slack account" in texts[1]


def test_a_tenant_details_button(api: Any, oidc_issuer: Any, slack: SlackEmulator, app_url: str) -> None:
    sign_in(api, oidc_issuer, ALICE)
    _create_tenant(api, "payments")
    click = {"type": "block_actions", "actions": [{"action_id": "tenant_show", "value": "payments", "type": "button"}]}
    assert slack.send_interaction(app_url, click).status_code == 200
    (text,) = _replies(slack)
    assert "payments-dev" in text
    missing = {**click, "actions": [{"action_id": "tenant_show", "value": "nope", "type": "button"}]}
    assert slack.send_interaction(app_url, missing).status_code == 200
    assert "tenant 'nope' not found" in _replies(slack, 2)[1]
    assert json.dumps(slack.responses()).count("Traceback") == 0


def test_a_retried_event_is_answered_once(api: Any, slack: SlackEmulator, app_url: str) -> None:
    event = {
        "type": "event_callback",
        "team_id": slack.team_id,
        "api_app_id": "A0IDP",
        "event_id": "Ev0MENTION1",
        "event_time": int(time.time()),
        "event": {
            "type": "app_mention",
            "user": "U0ALICE",
            "channel": "C0GENERAL",
            "text": "<@U0IDPBOT> hi",
            "ts": "1.2",
        },
    }
    body = json.dumps(event)
    for retry in (None, "1"):
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign_request(slack.signing_secret, ts, body),
        }
        if retry:
            headers |= {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        assert requests.post(app_url, data=body, headers=headers, timeout=30).status_code == 200
    posts = slack.calls("chat.postMessage")
    assert len(posts) == 1 and "/idp tenant list" in posts[0].args["text"]
