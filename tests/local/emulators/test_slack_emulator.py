"""The Slack emulator: the Web API as slack_sdk sees it, Slack's side towards an app, the control API."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from werkzeug.wrappers import Request, Response

from idp_local.emulators.slack import EmulatorControl, SlackEmulator, SlackEmulatorUnavailable, chat, render_text
from idp_local.serving import BackgroundServer

TOKEN = "xoxb-test-bot"
SECRET = "test-signing-secret"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def _slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=TOKEN, signing_secret=SECRET) as emulator:
        yield emulator


@pytest.fixture
def slack(_slack: SlackEmulator) -> SlackEmulator:
    _slack.reset()
    return _slack


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url)


class FakeApp:
    """A tiny Slack app: verifies signatures, records requests, answers with ``reply`` (and ``then``)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.verifier = SignatureVerifier(SECRET)
        self.reply: dict[str, Any] | None = {"text": "On it"}
        self.then: Any = None  # called with the parsed form after the ack, in a thread (a "lazy listener")
        self._server = BackgroundServer(self._wsgi, "127.0.0.1", 0, name="fake-slack-app")

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        headers = dict(request.headers.items())
        self.requests.append((headers, body))
        if not self.verifier.is_valid_request(body, headers):
            return Response("invalid signature", 401)(environ, start_response)
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if self.then is not None:
            threading.Thread(target=self.then, args=(form,)).start()
        answer = Response(json.dumps(self.reply), mimetype="application/json") if self.reply else Response("")
        return answer(environ, start_response)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/slack/events"

    def start(self) -> FakeApp:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def app() -> Iterator[FakeApp]:
    fake = FakeApp().start()
    yield fake
    fake.stop()


def _error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# -- Web API ---------------------------------------------------------------------------------
def test_post_message_then_update_in_place(slack: SlackEmulator, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Creating *payments*..."}}]
    posted = client.chat_postMessage(channel="C0GENERAL", text="Creating payments", blocks=blocks)
    assert posted["ok"] and posted["channel"] == "C0GENERAL"
    assert posted["message"]["text"] == "Creating payments" and posted["message"]["blocks"] == blocks

    updated = client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="payments is ready")
    assert updated["ts"] == posted["ts"] and updated["text"] == "payments is ready"

    assert [m["text"] for m in slack.messages()] == ["payments is ready"]
    [call] = slack.calls("chat.postMessage")
    assert call.args["channel"] == "C0GENERAL" and call.args["blocks"] == blocks and call.ok
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert [c.method for c in slack.calls()] == ["chat.postMessage", "chat.update"]


def test_blocks_sent_as_a_json_string_are_recorded_decoded(slack: SlackEmulator) -> None:
    blocks = [{"type": "divider"}]
    form = {"token": TOKEN, "channel": "C0GENERAL", "blocks": json.dumps(blocks)}
    answer = requests.post(slack.api_url + "chat.postMessage", data=form, timeout=5).json()
    assert answer["ok"], answer
    assert slack.calls("chat.postMessage")[0].args["blocks"] == blocks


def test_a_user_id_as_channel_posts_to_the_dm(client: WebClient) -> None:
    assert client.chat_postMessage(channel="U0ALICE", text="hi")["channel"] == "D0ALICE"


def test_update_of_an_unknown_message_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C0GENERAL", ts="1.000001", text="nope")
    assert _error(excinfo) == "message_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL")
    assert _error(excinfo) == "no_text"


def test_rate_limit_raises_and_the_retry_handler_waits_and_retries(
    slack: SlackEmulator, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL", text="hello")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "1"
    assert _error(excinfo) == "ratelimited"

    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slept.append))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    retrying = WebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[RateLimitErrorRetryHandler()])
    assert retrying.chat_postMessage(channel="C0GENERAL", text="hello")["ok"]
    assert len(slept) == 1 and slept[0] >= 1
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 429, 200]


def test_fail_next_with_an_error_answers_ok_false_count_times(slack: SlackEmulator, client: WebClient) -> None:
    slack.fail_next("users.info", error="fatal_error", count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.users_info(user="U0ALICE")
        assert _error(excinfo) == "fatal_error"
    assert client.users_info(user="U0ALICE")["ok"]


def test_bad_or_missing_token(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test()
    assert _error(excinfo) == "invalid_auth"
    answer = requests.post(slack.api_url + "auth.test", timeout=5).json()
    assert answer == {"ok": False, "error": "not_authed"}
    assert [c.response["error"] for c in slack.calls("auth.test")] == ["invalid_auth", "not_authed"]


def test_auth_test_and_conversations_info(client: WebClient) -> None:
    me = client.auth_test()
    assert me["team_id"] == "T0LOCAL" and me["user_id"].startswith("U") and me["bot_id"].startswith("B")
    channel = client.conversations_info(channel="C0GENERAL")["channel"]
    assert channel["id"] == "C0GENERAL" and channel["name"] == "general" and channel["is_channel"]
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_info(channel="nope")
    assert _error(excinfo) == "channel_not_found"


def test_conversations_history_and_replies_page_and_show_metadata_when_asked(client: WebClient) -> None:
    marker = {"event_type": "task_created", "event_payload": {"id": "TK-1"}}
    parent = client.chat_postMessage(channel="C0DEPLOY", text="parent", metadata=marker)["ts"]
    others = [client.chat_postMessage(channel="C0DEPLOY", text=f"m{i}")["ts"] for i in range(3)]
    replies = [client.chat_postMessage(channel="C0DEPLOY", text=f"r{i}", thread_ts=parent)["ts"] for i in range(2)]
    client.chat_postMessage(channel="C0OTHER", text="elsewhere")

    # Newest first, thread replies left out, their parent showing them; metadata only when asked for.
    first = client.conversations_history(channel="C0DEPLOY", limit=2)
    assert [m["ts"] for m in first["messages"]] == others[:0:-1] and first["has_more"]
    rest = client.conversations_history(
        channel="C0DEPLOY", limit=2, cursor=first["response_metadata"]["next_cursor"], include_all_metadata=True
    )
    assert [m["ts"] for m in rest["messages"]] == [others[0], parent] and not rest["has_more"]
    assert rest["messages"][1]["metadata"] == marker and rest["messages"][1]["reply_count"] == 2
    assert "metadata" not in client.conversations_history(channel="C0DEPLOY")["messages"][-1]
    since = client.conversations_history(channel="C0DEPLOY", oldest=others[1])["messages"]
    assert [m["ts"] for m in since] == [others[2]]

    thread = client.conversations_replies(channel="C0DEPLOY", ts=replies[1], include_all_metadata=True)
    assert [m["ts"] for m in thread["messages"]] == [parent, *replies] and thread["messages"][0]["metadata"] == marker
    for bad, error in (({"ts": "1.000001"}, "thread_not_found"), ({"ts": parent, "cursor": "x"}, "invalid_cursor")):
        with pytest.raises(SlackApiError) as excinfo:
            client.conversations_replies(channel="C0DEPLOY", **bad)
        assert _error(excinfo) == error


def test_an_update_leaves_metadata_and_thread_intact_unless_given(slack: SlackEmulator, client: WebClient) -> None:
    marker = {"event_type": "task_created", "event_payload": {"id": "TK-1"}}
    parent = client.chat_postMessage(channel="C0DEPLOY", text="parent", metadata=marker)["ts"]
    reply = client.chat_postMessage(channel="C0DEPLOY", text="reply", thread_ts=parent, metadata=marker)["ts"]
    client.chat_update(channel="C0DEPLOY", ts=parent, text="parent, edited")
    client.chat_update(channel="C0DEPLOY", ts=reply, text="reply, edited")
    (edited_parent, edited_reply) = slack.messages()
    assert edited_parent["metadata"] == marker and edited_reply["metadata"] == marker
    assert edited_reply["thread_ts"] == parent
    other = {"event_type": "task_done", "event_payload": {"id": "TK-1"}}
    client.chat_update(channel="C0DEPLOY", ts=parent, text="done", metadata=other)
    assert slack.messages()[0]["metadata"] == other


def test_users_info(slack: SlackEmulator, client: WebClient) -> None:
    slack.add_user("U0CAROL", name="carol", email="carol@example.com", email_confirmed=False)
    user = client.users_info(user="U0CAROL")["user"]
    assert user["id"] == "U0CAROL" and user["name"] == "carol"
    assert user["profile"]["email"] == "carol@example.com" and user["is_email_confirmed"] is False
    assert client.users_info(user="U0ALICE")["user"]["profile"]["email"] == "alice@example.com"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U0NOBODY")
    assert _error(excinfo) == "user_not_found"


def test_post_ephemeral(slack: SlackEmulator, client: WebClient) -> None:
    assert client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="psst")["message_ts"]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postEphemeral(channel="C0GENERAL", user="U0NOBODY", text="psst")
    assert _error(excinfo) == "user_not_in_channel"


# -- Block Kit limits ------------------------------------------------------------------------
def _problems(excinfo: pytest.ExceptionInfo[SlackApiError]) -> list[str]:
    return list(excinfo.value.response["response_metadata"]["messages"])


def test_more_than_50_blocks_is_invalid_blocks(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[{"type": "divider"}] * 51)
    assert _error(excinfo) == "invalid_blocks"
    assert "no more than 50 items allowed [json-pointer:/blocks]" in _problems(excinfo)[0]
    assert client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[{"type": "divider"}] * 50)["ok"]


def test_long_section_text_and_button_limits_are_invalid_blocks(client: WebClient) -> None:
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[long_section])
    assert _error(excinfo) == "invalid_blocks"
    assert "/blocks/0/text/text" in _problems(excinfo)[0]

    button = {"type": "button", "text": {"type": "plain_text", "text": "go"}, "action_id": "a", "value": "v" * 2001}
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[{"type": "actions", "elements": [button]}])
    assert "/blocks/0/elements/0/value" in _problems(excinfo)[0]

    twin = [{"type": "divider", "block_id": "same"}, {"type": "divider", "block_id": "same"}]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=twin)
    assert "duplicate block_id" in _problems(excinfo)[0]


# -- views and trigger ids -------------------------------------------------------------------
def _modal(title: str = "New tenant", blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "callback_id": "tenant_create", "title": {"type": "plain_text"}}
    view["title"]["text"] = title
    view["blocks"] = blocks if blocks is not None else [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]
    return view


def test_views_open_push_update_with_a_fresh_trigger(slack: SlackEmulator, client: WebClient, app: FakeApp) -> None:
    slack.send_command(app.url, "tenant create")
    trigger = slack.sent()[-1]["trigger_id"]
    view = client.views_open(trigger_id=trigger, view=_modal())["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "tenant_create" and view["hash"]

    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger, view=_modal())
    assert _error(excinfo) == "exchanged_trigger_id"

    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=_modal("Created"))["view"]
    assert updated["id"] == view["id"] and updated["title"]["text"] == "Created"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=view["id"], hash=view["hash"], view=_modal())
    assert _error(excinfo) == "hash_conflict"

    for depth in (2, 3):
        slack.send_interaction(app.url, {"type": "block_actions", "actions": []})
        pushed = client.views_push(trigger_id=slack.sent()[-1]["trigger_id"], view=_modal(f"Step {depth}"))["view"]
        assert pushed["root_view_id"] == view["id"]
    slack.send_interaction(app.url, {"type": "block_actions", "actions": []})
    with pytest.raises(SlackApiError) as excinfo:
        client.views_push(trigger_id=slack.sent()[-1]["trigger_id"], view=_modal("Step 4"))
    assert _error(excinfo) == "push_limit_reached"


def test_a_trigger_id_expires_after_three_seconds(app: FakeApp) -> None:
    clock = FakeClock()
    with SlackEmulator(bot_token=TOKEN, signing_secret=SECRET, clock=clock) as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        slack.send_command(app.url, "tenant create")
        clock.now += 3.5
        with pytest.raises(SlackApiError) as excinfo:
            client.views_open(trigger_id=slack.sent()[-1]["trigger_id"], view=_modal())
        assert _error(excinfo) == "expired_trigger_id"

        slack.send_command(app.url, "tenant create")
        clock.now += 2.9
        assert client.views_open(trigger_id=slack.sent()[-1]["trigger_id"], view=_modal())["ok"]
        with pytest.raises(SlackApiError) as excinfo:
            client.views_open(trigger_id="123.456.made-up", view=_modal())
        assert _error(excinfo) == "invalid_trigger_id"


def test_trigger_ttl_is_configurable(app: FakeApp) -> None:
    with SlackEmulator(bot_token=TOKEN, signing_secret=SECRET, trigger_ttl=0.0) as slack:
        slack.send_command(app.url, "tenant create")
        time.sleep(0.01)
        with pytest.raises(SlackApiError) as excinfo:
            WebClient(token=TOKEN, base_url=slack.api_url).views_open(
                trigger_id=slack.sent()[-1]["trigger_id"], view=_modal()
            )
        assert _error(excinfo) == "expired_trigger_id"


def test_view_limits_are_invalid_arguments(slack: SlackEmulator, client: WebClient, app: FakeApp) -> None:
    bad_views = [
        _modal("A title that is far too long"),  # 28 characters
        _modal(blocks=[{"type": "divider"}] * 101),
        _modal(blocks=[{"type": "input", "label": {"type": "plain_text", "text": "Name"}, "element": {}}]),  # no submit
    ]
    for view in bad_views:
        slack.send_command(app.url, "tenant create")
        with pytest.raises(SlackApiError) as excinfo:
            client.views_open(trigger_id=slack.sent()[-1]["trigger_id"], view=view)
        assert _error(excinfo) == "invalid_arguments", view
        assert _problems(excinfo)


# -- Slack's side towards the app ------------------------------------------------------------
def test_send_command_is_a_signed_slack_form(slack: SlackEmulator, app: FakeApp) -> None:
    response = slack.send_command(app.url, "tenant list", user_id="U0BOB", channel_id="C0OPS")
    assert response.status_code == 200 and response.json() == {"text": "On it"}

    headers, body = app.requests[-1]
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
    assert form["command"] == "/idp" and form["text"] == "tenant list"
    assert form["user_id"] == "U0BOB" and form["user_name"] == "bob" and form["channel_id"] == "C0OPS"
    assert form["team_id"] == "T0LOCAL" and form["trigger_id"] and form["api_app_id"]
    assert form["response_url"].startswith(slack.url + "/_responses/")
    assert "X-Slack-Retry-Num" not in headers
    assert slack.sent()[-1] == form


def test_send_command_can_forge_stale_or_retried_requests(slack: SlackEmulator, app: FakeApp) -> None:
    stale = slack.send_command(app.url, "help", timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    forged = slack.send_command(app.url, "help", signing_secret="not-the-secret")
    assert forged.status_code == 401
    slack.send_command(app.url, "help", retry_num=1)
    headers, _ = app.requests[-1]
    assert headers["X-Slack-Retry-Num"] == "1" and headers["X-Slack-Retry-Reason"] == "http_timeout"


def test_send_interaction_is_a_signed_payload(slack: SlackEmulator, app: FakeApp) -> None:
    action = {"type": "button", "action_id": "approve", "value": "req-42"}
    response = slack.send_interaction(app.url, {"type": "block_actions", "actions": [action]})
    assert response.status_code == 200
    headers, body = app.requests[-1]
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["actions"] == [action] and payload["user"]["id"] == "U0ALICE"
    assert payload["trigger_id"] and payload["response_url"].startswith(slack.url)
    assert payload["team"]["id"] == "T0LOCAL" and payload["channel"]["id"] == "C0GENERAL"


def test_response_url_takes_five_posts_then_used_url(slack: SlackEmulator, app: FakeApp) -> None:
    slack.send_command(app.url, "tenant list")
    url = slack.sent()[-1]["response_url"]
    for number in range(5):
        answer = requests.post(url, json={"text": f"answer {number}", "response_type": "ephemeral"}, timeout=5)
        assert answer.status_code == 200, number
    used = requests.post(url, json={"text": "one too many"}, timeout=5)
    assert used.status_code == 404 and used.json()["error"] == "used_url"
    assert [r["text"] for r in slack.responses()] == [f"answer {n}" for n in range(5)]
    assert slack.responses(url) == slack.responses()
    assert requests.post(slack.url + "/_responses/R-unknown", json={}, timeout=5).status_code == 404


def test_lazy_answers_are_awaited_with_wait_for(slack: SlackEmulator, app: FakeApp) -> None:
    def lazy(form: dict[str, str]) -> None:
        time.sleep(0.2)
        requests.post(form["response_url"], json={"text": "done"}, timeout=5)

    app.then = lazy
    slack.send_command(app.url, "tenant list")
    assert slack.responses() == []
    assert slack.wait_for(lambda: slack.responses(), timeout=5)
    assert slack.responses() == [{"text": "done"}]
    assert not slack.wait_for(lambda: False, timeout=0.05)


# -- text rendering --------------------------------------------------------------------------
def test_render_text() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Tenants"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*payments* by <@U0ALICE> in <#C1|ops>"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Status*\nready"}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "see <https://x.test|the docs>"}]},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "a"},
                {"type": "button", "text": {"type": "plain_text", "text": "Deny"}, "action_id": "d"},
            ],
        },
    ]
    assert render_text(blocks) == "\n".join(
        [
            "Tenants",
            "=======",
            "*payments* by @U0ALICE in #ops",
            "  *Status*\nready",
            "-" * 40,
            "see the docs (https://x.test)",
            "[Approve] [Deny]",
        ]
    )
    assert render_text({"text": "plain &lt;ok&gt;"}) == "plain <ok>"
    assert render_text({"text": "fallback", "blocks": blocks[:1]}).startswith("Tenants")
    modal = {**_modal("New tenant"), "submit": {"type": "plain_text", "text": "Create"}}
    assert render_text(modal) == "[New tenant]\nHi\n[Create]"


# -- the control API (what `idp chat` uses from another process) ----------------------------
def test_control_api(slack: SlackEmulator, app: FakeApp) -> None:
    def lazy(form: dict[str, str]) -> None:
        if "command" not in form:  # the button click below
            return
        bot = WebClient(token=TOKEN, base_url=slack.api_url)
        posted = bot.chat_postMessage(channel=form["channel_id"], text="Working...")
        bot.chat_update(channel=posted["channel"], ts=posted["ts"], text="3 tenants")
        requests.post(form["response_url"], json={"text": "done"}, timeout=5)

    app.then = lazy
    control = EmulatorControl(slack.url)
    assert control.health()["api_url"] == slack.api_url
    control.add_user("U0DAVE", name="dave", email="dave@example.com")
    sent = control.send_command(app.url, "tenant list", user_id="U0DAVE")
    assert sent["status"] == 200 and sent["json"] == {"text": "On it"} and sent["response_url"]
    assert slack.sent()[-1]["user_name"] == "dave"
    assert slack.wait_for(lambda: control.responses(since=sent["at"]), timeout=5)
    assert [c["method"] for c in control.calls(since=sent["at"])] == ["chat.postMessage", "chat.update"]
    assert [c["args"]["text"] for c in control.calls("chat.update")] == ["3 tenants"]
    assert control.responses(response_url=sent["response_url"])[0]["body"] == {"text": "done"}
    assert requests.get(slack.url + "/_emulator/messages", timeout=5).json()[0]["text"] == "3 tenants"

    failed = requests.post(slack.url + "/_emulator/fail-next", json={"method": "auth.test", "error": "boom"}, timeout=5)
    assert failed.ok
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token=TOKEN, base_url=slack.api_url).auth_test()
    assert _error(excinfo) == "boom"

    interaction = control.send_interaction(app.url, {"type": "block_actions", "actions": []})
    assert interaction["status"] == 200 and interaction["trigger_id"]

    control.reset()
    assert slack.calls() == [] and slack.responses() == []
    with pytest.raises(SlackEmulatorUnavailable, match="not reachable"):
        control.send_command("http://127.0.0.1:1/slack/events", "help")
    with pytest.raises(SlackEmulatorUnavailable):
        EmulatorControl("http://127.0.0.1:1").health()


def test_chat_yields_ack_responses_and_messages_in_order(slack: SlackEmulator, app: FakeApp) -> None:
    def lazy(form: dict[str, str]) -> None:
        bot = WebClient(token=TOKEN, base_url=slack.api_url)
        bot.chat_postMessage(
            channel=form["channel_id"],
            text="payments",
            blocks=[
                {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ok"}}]}
            ],
        )
        requests.post(form["response_url"], json={"text": "ephemeral note"}, timeout=5)

    app.then = lazy
    events = list(chat(EmulatorControl(slack.url), app.url, "/idp tenant list", timeout=5, quiet=0.5))
    assert slack.sent()[-1]["command"] == "/idp" and slack.sent()[-1]["text"] == "tenant list"
    assert events[0].label == "ack" and events[0].text == "On it"
    texts = {e.label.split(" ")[0]: e.text for e in events[1:]}
    assert texts["chat.postMessage"] == "[Ok]"
    assert texts["response_url"] == "ephemeral note"


def test_chat_shows_failed_calls(slack: SlackEmulator, app: FakeApp) -> None:
    def lazy(form: dict[str, str]) -> None:
        bot = WebClient(token=TOKEN, base_url=slack.api_url)
        with pytest.raises(SlackApiError):
            bot.chat_postMessage(channel="C0GENERAL", text="x", blocks=[{"type": "divider"}] * 60)

    app.reply, app.then = None, lazy
    events = list(chat(EmulatorControl(slack.url), app.url, "tenant list", timeout=5, quiet=0.3))
    assert [e.label for e in events] == ["chat.postMessage failed: invalid_blocks"] and events[0].failed


def test_chat_reports_a_refused_command(app: FakeApp) -> None:
    with (
        SlackEmulator(bot_token=TOKEN, signing_secret="not-the-apps-secret") as slack,
        pytest.raises(RuntimeError, match="HTTP 401"),
    ):
        list(chat(EmulatorControl(slack.url), app.url, "help", timeout=1))
    assert app.requests


def test_dev_platform_starts_the_slack_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idp_local.dev import DevPlatform, free_port

    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    monkeypatch.setenv("IDP_SLACK_PORT", str(port))
    platform = DevPlatform(state_dir=tmp_path)
    try:
        platform._slack()
        assert platform.slack_url == f"http://127.0.0.1:{port}"
        assert os.environ["SLACK_API_URL"] == f"http://127.0.0.1:{port}/api/"
        client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
        assert client.auth_test()["ok"]
        assert os.environ["SLACK_SIGNING_SECRET"]
    finally:
        platform.stop()


def test_idp_chat_prints_the_conversation(
    slack: SlackEmulator, app: FakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import idp_local.dev
    from idp_cli.main import app as cli

    def lazy(form: dict[str, str]) -> None:
        bot = WebClient(token=TOKEN, base_url=slack.api_url)
        button = {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "approve"}
        bot.chat_postMessage(channel=form["channel_id"], text="x", blocks=[{"type": "actions", "elements": [button]}])

    app.then = lazy
    monkeypatch.setattr(idp_local.dev, "STATE_DIR", tmp_path)
    runner = CliRunner()
    missing = runner.invoke(cli, ["chat", "/idp tenant list"])
    assert missing.exit_code == 2 and "make dev" in missing.output

    state = {"api_url": "http://127.0.0.1:1/v1", "slack_url": slack.url, "slack_signing_secret": SECRET}
    (tmp_path / "dev.json").write_text(json.dumps(state))
    unreachable = runner.invoke(cli, ["chat", "/idp tenant list"])  # nothing serves the API
    assert unreachable.exit_code == 2 and "not reachable" in unreachable.output

    result = runner.invoke(cli, ["chat", "/idp tenant list", "--app-url", app.url, "--as", "U0BOB", "--timeout", "3"])
    assert result.exit_code == 0, result.output
    assert "On it" in result.output and "[Approve]" in result.output
    assert slack.sent()[-1]["user_id"] == "U0BOB"

    (tmp_path / "dev.json").write_text(json.dumps({**state, "slack_url": "http://127.0.0.1:1"}))
    stopped = runner.invoke(cli, ["chat", "help", "--app-url", app.url])
    assert stopped.exit_code == 2 and "is `make dev` running?" in stopped.output
