"""``SlackEmulator``: a fake Slack over real HTTP, both sides of it.

Towards our app it is the Web API (``slack_sdk.WebClient(token=..., base_url=emulator.api_url)``)
and the response_url endpoint; it records every call. As Slack towards the app it sends
signed slash commands and interaction payloads (``send_command``, ``send_interaction``).
Another process (``idp chat``) drives it through the control API under ``/_emulator/``:

- ``POST /_emulator/send-command`` ``{app_url, text, command?, user_id?, channel_id?, ...}``
  and ``POST /_emulator/send-interaction`` ``{app_url, payload, user_id?, ...}``: send it,
  answer ``{status, body, json, headers, elapsed, at, response_url, trigger_id}``;
- ``GET /_emulator/calls?method=&since=``, ``GET /_emulator/responses?since=&response_url=``,
  ``GET /_emulator/messages``: what the app did;
- ``POST /_emulator/reset``, ``POST /_emulator/users`` ``{user_id, name, email?, email_confirmed?}``,
  ``POST /_emulator/fail-next`` ``{method, error?, status?, retry_after?, count?}``.

Run it on its own with ``python -m idp_local.emulators.slack [--port N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.wrappers import Request, Response

from idp_local.serving import BackgroundServer, Served

from .webapi import APP_ID, RecordedCall, Workspace

__all__ = ["SlackEmulator", "main", "sign_request"]

VERIFICATION_TOKEN = "local-verification-token"  # the deprecated `token` field Slack still sends
_JSON_ARGS = ("blocks", "view", "attachments", "metadata")
_CONTROL_KEYS = ("command", "user_id", "channel_id", "retry_num", "timestamp", "signing_secret")


def sign_request(signing_secret: str, timestamp: int | str, body: str | bytes) -> str:
    """Slack's ``X-Slack-Signature``: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    raw = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(signing_secret.encode(), f"v0:{timestamp}:{raw}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, mimetype="application/json")


def _arguments(request: Request) -> dict[str, Any]:
    """Query, form and JSON body merged, with JSON-encoded ``blocks``/``view``/... decoded."""
    args: dict[str, Any] = dict(request.args.items())
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            args.update(body)
    else:
        args.update(request.form.items())
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str):
            # Left as a string when it is not JSON: Slack then answers invalid_blocks_format.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


class SlackEmulator(Served):
    """A fake Slack: the Web API our app calls, and Slack's side towards our app.

    Usage::

        slack = SlackEmulator().start()
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        slack.send_command(app_url, "tenant list")
        slack.wait_for(lambda: slack.calls("chat.postMessage"))
        slack.stop()
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_token: str = "xoxb-local-bot",
        signing_secret: str = "local-signing-secret",
        team_id: str = "T0LOCAL",
        trigger_ttl: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port = host, port
        self.bot_token, self.signing_secret, self.team_id = bot_token, signing_secret, team_id
        self._workspace = Workspace(bot_token=bot_token, team_id=team_id, trigger_ttl=trigger_ttl, clock=clock)
        self._server = BackgroundServer(self._wsgi, host, port, name="slack-emulator")

    # lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.base_url

    @property
    def api_url(self) -> str:
        """The Web API base URL (``WebClient(base_url=...)`` wants the trailing slash)."""
        return f"{self.url}/api/"

    @property
    def trigger_ttl(self) -> float:
        return self._workspace.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        self._workspace.trigger_ttl = seconds

    # what the app did -------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Every Web API call received (failed ones too), oldest first; only ``method``'s if given."""
        with self._workspace.lock:
            return [call for call in self._workspace.calls if method is None or call.method == method]

    def responses(self, response_url: str | None = None) -> list[dict[str, Any]]:
        """The bodies the app POSTed to response_urls (only to ``response_url`` if given), in order."""
        wanted = response_url.rstrip("/").rsplit("/", 1)[-1] if response_url else None
        with self._workspace.lock:
            return [body for url_id, body, _ in self._workspace.responses if wanted is None or url_id == wanted]

    def messages(self) -> list[dict[str, Any]]:
        """The channel messages as they stand now (after updates), with their ``channel``, oldest first."""
        with self._workspace.lock:
            items = sorted(self._workspace.messages.items(), key=lambda item: item[0][1])
            return [{**message, "channel": channel} for (channel, _), message in items]

    def views(self) -> list[dict[str, Any]]:
        """The views opened, pushed or updated, as they stand now."""
        with self._workspace.lock:
            return list(self._workspace.views.values())

    def sent(self) -> list[dict[str, Any]]:
        """What was sent to the app: the slash-command forms and interaction payloads, in order."""
        with self._workspace.lock:
            return list(self._workspace.sent)

    def reset(self) -> None:
        """Forgets calls, messages, views, triggers, response URLs, queued failures and added users."""
        self._workspace.reset()

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 200,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """The next ``count`` calls of ``method`` fail: HTTP 429 + ``Retry-After`` (``retry_after``,
        default 1 s) when ``status`` is 429, else HTTP ``status`` with ``{"ok": false, "error": error}``."""
        self._workspace.fail_next(method, error=error, status=status, retry_after=retry_after, count=count)

    def add_user(self, user_id: str, *, name: str, email: str | None = None, email_confirmed: bool = True) -> None:
        """A workspace member for ``users.info`` (U0ALICE, U0BOB, U0ADMIN exist from the start)."""
        self._workspace.add_user(user_id, name=name, email=email, email_confirmed=email_confirmed)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
        """Polls ``predicate`` until it is truthy (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    # Slack's side towards the app -------------------------------------------------------
    def send_command(
        self,
        app_url: str,
        text: str,
        *,
        command: str = "/idp",
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        retry_num: int | None = None,
        timestamp: int | None = None,
        signing_secret: str | None = None,
    ) -> requests.Response:
        """POSTs a signed slash command to ``app_url``, form-encoded as Slack does.

        It carries a fresh ``trigger_id`` (valid for ``trigger_ttl`` seconds) and a
        ``response_url`` on this emulator; ``sent()[-1]`` shows the form. ``timestamp`` and
        ``signing_secret`` override what is signed, to test stale or forged requests.
        """
        form = self.command_form(text, command=command, user_id=user_id, channel_id=channel_id)
        return self._post(app_url, urlencode(form), retry_num, timestamp, signing_secret)

    def send_interaction(
        self,
        app_url: str,
        payload: dict[str, Any],
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        retry_num: int | None = None,
        timestamp: int | None = None,
        signing_secret: str | None = None,
    ) -> requests.Response:
        """POSTs ``payload=<json>`` signed, like a button click or a modal submission.

        Missing ``user``, ``team``, ``api_app_id``, ``token`` and ``trigger_id`` are filled in
        (the trigger id is valid for ``trigger_ttl`` seconds), and for ``block_actions`` a
        ``channel`` and a ``response_url`` on this emulator.
        """
        full = self.interaction_payload(payload, user_id=user_id, channel_id=channel_id)
        return self._post(app_url, urlencode({"payload": json.dumps(full)}), retry_num, timestamp, signing_secret)

    def command_form(self, text: str, *, command: str, user_id: str, channel_id: str) -> dict[str, str]:
        ws = self._workspace
        user = ws.users.get(user_id)
        form = {
            "token": VERIFICATION_TOKEN, "team_id": self.team_id, "team_domain": "idp-local",
            "channel_id": channel_id, "channel_name": _channel_name(channel_id), "user_id": user_id,
            "user_name": user.name if user else user_id.lower(), "command": command, "text": text,
            "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": f"{self.url}/_responses/{ws.issue_response_url()}",
            "trigger_id": ws.issue_trigger(user_id),
        }  # fmt: skip
        with ws.lock:
            ws.sent.append(dict(form))
        return form

    def interaction_payload(self, payload: dict[str, Any], *, user_id: str, channel_id: str) -> dict[str, Any]:
        ws = self._workspace
        user = ws.users.get(user_id)
        full = dict(payload)
        full.setdefault("user", {"id": user_id, "username": user.name if user else user_id.lower(),
                                 "name": user.name if user else user_id.lower(), "team_id": self.team_id})  # fmt: skip
        full.setdefault("team", {"id": self.team_id, "domain": "idp-local"})
        full.setdefault("api_app_id", APP_ID)
        full.setdefault("token", VERIFICATION_TOKEN)
        full.setdefault("is_enterprise_install", False)
        full["trigger_id"] = ws.issue_trigger(str(full["user"].get("id", user_id)), full.get("trigger_id"))
        if full.get("type") in ("block_actions", "message_action", "interactive_message"):
            full.setdefault("channel", {"id": channel_id, "name": _channel_name(channel_id)})
            full.setdefault("response_url", f"{self.url}/_responses/{ws.issue_response_url()}")
        with ws.lock:
            ws.sent.append(dict(full))
        return full

    def _post(
        self, app_url: str, body: str, retry_num: int | None, timestamp: int | None, signing_secret: str | None
    ) -> requests.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign_request(signing_secret or self.signing_secret, ts, body),
        }
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        return requests.post(app_url, data=body.encode(), headers=headers, timeout=30)

    # HTTP -----------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        path = request.path
        if path.startswith("/api/"):
            response = self._web_api(request, path[len("/api/") :])
        elif path.startswith("/_responses/") and request.method == "POST":
            response = self._response_url(request, path.rsplit("/", 1)[-1])
        elif path.startswith("/_emulator/"):
            response = self._control(request, path[len("/_emulator/") :])
        else:
            response = _json({"ok": False, "error": "not_found"}, 404)
        return response(environ, start_response)

    def _web_api(self, request: Request, method: str) -> Response:
        headers = {key: value for key, value in request.headers.items()}
        answer = self._workspace.call(method, _arguments(request), headers)
        return _json(answer.body, answer.status, answer.headers)

    def _response_url(self, request: Request, url_id: str) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            body = {"text": request.get_data(as_text=True)} if request.get_data() else {}
        status, answer = self._workspace.post_response(url_id, body)
        return _json(answer, status)

    def _control(self, request: Request, action: str) -> Response:
        body = request.get_json(silent=True) if request.method == "POST" else None
        body = body if isinstance(body, dict) else {}
        since = float(request.args.get("since", "0") or 0)
        key = (request.method, action)
        if key == ("GET", "health"):
            return _json({"ok": True, "api_url": self.api_url, "team_id": self.team_id})
        if key == ("GET", "calls"):
            method = request.args.get("method") or None
            return _json([call.to_json() for call in self.calls(method) if call.at >= since])
        if key == ("GET", "responses"):
            wanted = request.args.get("response_url", "").rstrip("/").rsplit("/", 1)[-1]
            with self._workspace.lock:
                posts = list(self._workspace.responses)
            return _json(
                [
                    {"response_url": f"{self.url}/_responses/{url_id}", "body": posted, "at": at}
                    for url_id, posted, at in posts
                    if at >= since and (not wanted or url_id == wanted)
                ]
            )
        if key == ("GET", "messages"):
            return _json(self.messages())
        if key == ("POST", "reset"):
            self.reset()
            return _json({"ok": True})
        if key == ("POST", "users"):
            if not body.get("user_id") or not body.get("name"):
                return _json({"ok": False, "error": "user_id and name are required"}, 400)
            email_confirmed = bool(body.get("email_confirmed", True))
            self.add_user(str(body["user_id"]), name=str(body["name"]), email=body.get("email"),
                          email_confirmed=email_confirmed)  # fmt: skip
            return _json({"ok": True})
        if key == ("POST", "fail-next"):
            if not body.get("method"):
                return _json({"ok": False, "error": "method is required"}, 400)
            options = {k: body[k] for k in ("error", "status", "retry_after", "count") if k in body}
            self.fail_next(str(body["method"]), **options)
            return _json({"ok": True})
        if key in (("POST", "send-command"), ("POST", "send-interaction")):
            return self._control_send(action, body)
        return _json({"ok": False, "error": "not_found"}, 404)

    def _control_send(self, action: str, body: dict[str, Any]) -> Response:
        app_url = body.get("app_url")
        if not app_url or (action == "send-command" and "text" not in body):
            return _json({"ok": False, "error": "app_url and text (or payload) are required"}, 400)
        if action == "send-interaction" and not isinstance(body.get("payload"), dict):
            return _json({"ok": False, "error": "payload must be an object"}, 400)
        options = {k: body[k] for k in _CONTROL_KEYS if body.get(k) is not None}
        at = self._workspace.clock()
        try:
            if action == "send-command":
                answer = self.send_command(app_url, str(body["text"]), **options)
            else:
                options.pop("command", None)
                answer = self.send_interaction(app_url, body["payload"], **options)
        except requests.RequestException as exc:
            return _json({"ok": False, "error": "app_unreachable", "message": str(exc)}, 502)
        sent = self.sent()[-1]
        try:
            parsed = answer.json() if answer.content else None
        except ValueError:
            parsed = None
        result = {
            "ok": True, "status": answer.status_code, "headers": dict(answer.headers), "body": answer.text,
            "json": parsed, "elapsed": answer.elapsed.total_seconds(), "at": at,
            "response_url": sent.get("response_url"), "trigger_id": sent.get("trigger_id"),
        }  # fmt: skip
        return _json(result)


def _channel_name(channel_id: str) -> str:
    if channel_id == "C0GENERAL":
        return "general"
    return "directmessage" if channel_id.startswith("D") else channel_id.lower()


def main() -> None:  # pragma: no cover - a manual entry point
    parser = argparse.ArgumentParser(description="A local Slack Web API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--bot-token", default="xoxb-local-bot")
    parser.add_argument("--signing-secret", default="local-signing-secret")
    options = parser.parse_args()
    slack = SlackEmulator(
        options.host, options.port, bot_token=options.bot_token, signing_secret=options.signing_secret
    ).start()
    print(f"Slack emulator: Web API at {slack.api_url} (bot token {slack.bot_token})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        slack.stop()
