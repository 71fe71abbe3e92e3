"""Driving a running Slack emulator from another process (``idp chat``), over its control API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from .render import render_text

__all__ = ["ChatEvent", "EmulatorControl", "SlackEmulatorUnavailable", "chat"]

# The Web API calls that show the user something.
VISIBLE_METHODS = (
    "chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.push", "views.update",
)  # fmt: skip


class SlackEmulatorUnavailable(Exception):
    """The Slack emulator (or the app behind it) could not be reached."""


@dataclass(frozen=True)
class ChatEvent:
    """One thing the app showed: ``label`` says what it was, ``text`` is it rendered."""

    at: float
    label: str
    text: str
    failed: bool = False


class EmulatorControl:
    """A client of a Slack emulator's ``/_emulator/`` API (``url`` is the emulator's base URL)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout
        self._session = requests.Session()

    def _request(self, method: str, action: str, **kwargs: Any) -> Any:
        try:
            response = self._session.request(method, f"{self.url}/_emulator/{action}", timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise SlackEmulatorUnavailable(f"the Slack emulator at {self.url} is not reachable ({exc})") from None
        body = response.json() if response.content else None
        if response.status_code == 502 and isinstance(body, dict) and body.get("error") == "app_unreachable":
            raise SlackEmulatorUnavailable(f"the app is not reachable: {body.get('message')}")
        if not response.ok:
            raise SlackEmulatorUnavailable(f"the Slack emulator answered HTTP {response.status_code}: {response.text}")
        return body

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "health"))

    def send_command(self, app_url: str, text: str, **options: Any) -> dict[str, Any]:
        return dict(self._request("POST", "send-command", json={"app_url": app_url, "text": text, **options}))

    def send_interaction(self, app_url: str, payload: dict[str, Any], **options: Any) -> dict[str, Any]:
        return dict(self._request("POST", "send-interaction", json={"app_url": app_url, "payload": payload, **options}))

    def calls(self, method: str | None = None, *, since: float = 0) -> list[dict[str, Any]]:
        return list(self._request("GET", "calls", params={"method": method or "", "since": since}))

    def responses(self, *, since: float = 0, response_url: str | None = None) -> list[dict[str, Any]]:
        return list(self._request("GET", "responses", params={"since": since, "response_url": response_url or ""}))

    def reset(self) -> None:
        self._request("POST", "reset")

    def add_user(self, user_id: str, *, name: str, email: str | None = None, email_confirmed: bool = True) -> None:
        body = {"user_id": user_id, "name": name, "email": email, "email_confirmed": email_confirmed}
        self._request("POST", "users", json=body)


def _ack_event(sent: dict[str, Any]) -> ChatEvent | None:
    body, parsed = sent.get("body") or "", sent.get("json")
    if isinstance(parsed, dict):
        text = render_text(parsed)
        return ChatEvent(sent["at"], "ack", text) if text else None
    return ChatEvent(sent["at"], "ack", body) if body.strip() else None


def _response_event(posted: dict[str, Any]) -> ChatEvent:
    body = posted["body"]
    if body.get("delete_original"):
        return ChatEvent(posted["at"], "response_url: deleted the original message", "")
    kind = "in channel" if body.get("response_type") == "in_channel" else "only you can see this"
    if body.get("replace_original"):
        kind += ", replacing the original"
    return ChatEvent(posted["at"], f"response_url ({kind})", render_text(body))


def _call_event(call: dict[str, Any]) -> ChatEvent:
    method, args, answer = call["method"], call["args"], call["response"]
    if not answer.get("ok"):
        problems = (answer.get("response_metadata") or {}).get("messages") or []
        return ChatEvent(call["at"], f"{method} failed: {answer.get('error')}", "\n".join(problems), failed=True)
    if method.startswith("views."):
        return ChatEvent(call["at"], f"{method} (modal)", render_text(args.get("view") or {}))
    where = {
        "chat.postMessage": f"in {answer.get('channel')}",
        "chat.update": f"of {answer.get('channel')} {answer.get('ts')}",
        "chat.postEphemeral": f"to {args.get('user')} in {args.get('channel')}",
    }[method]
    return ChatEvent(call["at"], f"{method} {where}", render_text(args))


def chat(
    control: EmulatorControl,
    app_url: str,
    text: str,
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0GENERAL",
    timeout: float = 10.0,
    quiet: float = 2.0,
) -> Iterator[ChatEvent]:
    """Sends ``text`` (``/cmd rest``, or just ``rest`` for ``/idp``) as a slash command and yields
    what the app shows: its ack, response_url posts and visible Web API calls, in order.

    Stops ``quiet`` seconds after the last answer, or after ``timeout`` seconds in all.
    Raises ``SlackEmulatorUnavailable`` when the emulator or the app cannot be reached, and
    ``RuntimeError`` when the app refuses the command (a non-200 ack).
    """
    command, rest = ("/idp", text.strip())
    if text.strip().startswith("/"):
        command, _, rest = text.strip().partition(" ")
    sent = control.send_command(app_url, rest.strip(), command=command, user_id=user_id, channel_id=channel_id)
    if sent["status"] != 200:
        raise RuntimeError(f"the app answered {command} with HTTP {sent['status']}: {sent['body'][:500]}")
    since, started = sent["at"], time.monotonic()
    last_answer = started
    ack = _ack_event(sent)
    if ack is not None:
        yield ack
    seen_calls, seen_responses = 0, 0
    answered = ack is not None
    while time.monotonic() - started < timeout and not (answered and time.monotonic() - last_answer >= quiet):
        time.sleep(0.2)
        posts = control.responses(since=since, response_url=sent["response_url"])
        calls = [c for c in control.calls(since=since) if c["method"] in VISIBLE_METHODS]
        fresh = [_response_event(p) for p in posts[seen_responses:]] + [_call_event(c) for c in calls[seen_calls:]]
        seen_calls, seen_responses = len(calls), len(posts)
        if fresh:
            answered, last_answer = True, time.monotonic()
            yield from sorted(fresh, key=lambda event: event.at)
