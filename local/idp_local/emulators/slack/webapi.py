"""The Web API methods: Slack's answers and errors over an in-memory workspace.

``Workspace`` holds everything (messages, views, trigger ids, users, recorded calls,
response_url posts, queued failures) behind one lock; ``Workspace.call`` answers one Web
API request the way Slack would, ``{"ok": false, "error": ...}`` included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .blocks import BlockError, check_message_blocks, check_view

__all__ = ["BOT_ID", "BOT_USER_ID", "DEFAULT_USERS", "ApiAnswer", "RecordedCall", "SlackApiFailure", "Workspace"]

BOT_USER_ID = "U0IDPBOT"
BOT_ID = "B0IDPBOT"
APP_ID = "A0IDP"
MAX_VIEW_STACK = 3
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60
# Users every fresh workspace knows; their e-mails match `idp dev`'s sign-in users.
DEFAULT_USERS: tuple[tuple[str, str, str], ...] = (
    ("U0ALICE", "alice", "alice@example.com"),
    ("U0BOB", "bob", "bob@example.com"),
    ("U0ADMIN", "admin", "admin@example.com"),
)


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the emulator received it, with what it answered."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    response: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    def to_json(self) -> dict[str, Any]:
        keys = ("method", "args", "headers", "at", "response", "status")
        return {key: getattr(self, key) for key in keys}


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackApiFailure(Exception):
    """Ends a method with Slack's ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, messages: list[str] | None = None, *, status: int = 200) -> None:
        super().__init__(error)
        self.error, self.messages, self.status = error, messages or [], status


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int


@dataclass
class _ResponseUrl:
    issued_at: float
    uses: int = 0


@dataclass
class _User:
    id: str
    name: str
    email: str | None
    email_confirmed: bool


def _require(args: dict[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if value in (None, ""):
        raise SlackApiFailure(error, [f"[ERROR] missing required field: {name}"])
    return str(value)


def _check_blocks(args: dict[str, Any]) -> None:
    try:
        check_message_blocks(args.get("blocks"))
    except BlockError as exc:
        raise SlackApiFailure(exc.error, exc.messages) from None


def _check_view(view: Any) -> dict[str, Any]:
    try:
        check_view(view)
    except BlockError as exc:
        raise SlackApiFailure(exc.error, exc.messages) from None
    return dict(view)


class Workspace:
    """One Slack workspace's state and its Web API; every public method is thread-safe."""

    def __init__(
        self, *, bot_token: str, team_id: str, trigger_ttl: float = 3.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.bot_token, self.team_id, self.trigger_ttl, self.clock = bot_token, team_id, trigger_ttl, clock
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.calls: list[RecordedCall] = []
            self.responses: list[tuple[str, dict[str, Any], float]] = []  # (response url id, body, at)
            self.sent: list[dict[str, Any]] = []  # what was sent to the app (commands, interactions)
            self.messages: dict[tuple[str, str], dict[str, Any]] = {}
            self.ephemeral: list[dict[str, Any]] = []
            self.views: dict[str, dict[str, Any]] = {}
            self.view_stacks: dict[str, list[str]] = {}  # user id -> view ids, root first
            self.triggers: dict[str, tuple[float, str, bool]] = {}  # id -> (issued at, user id, used)
            self.response_urls: dict[str, _ResponseUrl] = {}
            self.failures: dict[str, list[_Failure]] = {}
            self.users = {uid: _User(uid, name, email, True) for uid, name, email in DEFAULT_USERS}
            self._last_ts = 0.0

    # -- things the emulator hands out ---------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def issue_trigger(self, user_id: str, trigger_id: str | None = None) -> str:
        with self.lock:
            trigger_id = trigger_id or f"{int(self.clock())}.{next(self._ids)}.{secrets.token_hex(10)}"
            self.triggers[trigger_id] = (self.clock(), user_id, False)
            return trigger_id

    def issue_response_url(self) -> str:
        with self.lock:
            url_id = self.new_id("R")
            self.response_urls[url_id] = _ResponseUrl(self.clock())
            return url_id

    def add_user(self, user_id: str, *, name: str, email: str | None, email_confirmed: bool) -> None:
        with self.lock:
            self.users[user_id] = _User(user_id, name, email, email_confirmed)

    def fail_next(self, method: str, *, error: str, status: int, retry_after: int | None, count: int) -> None:
        with self.lock:
            self.failures.setdefault(method, []).append(_Failure(error, status, retry_after, count))

    def post_response(self, url_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A post to a response_url: at most 5 within 30 minutes, as Slack allows."""
        with self.lock:
            entry = self.response_urls.get(url_id)
            if entry is None:
                return 404, {"ok": False, "error": "invalid_url"}
            if self.clock() - entry.issued_at > RESPONSE_URL_TTL:
                return 404, {"ok": False, "error": "expired_url"}
            if entry.uses >= RESPONSE_URL_USES:
                return 404, {"ok": False, "error": "used_url"}
            entry.uses += 1
            self.responses.append((url_id, body, self.clock()))
            return 200, {"ok": True}

    # -- the Web API -----------------------------------------------------------------------
    def call(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> ApiAnswer:
        """Answers one Web API request and records it."""
        with self.lock:
            answer = self._answer(method, args, headers)
            self.calls.append(RecordedCall(method, args, headers, self.clock(), answer.body, answer.status))
            return answer

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> ApiAnswer:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else str(args.get("token") or "")
        if not token:
            return ApiAnswer(200, {"ok": False, "error": "not_authed"})
        if token != self.bot_token:
            return ApiAnswer(200, {"ok": False, "error": "invalid_auth"})
        queued = self.failures.get(method)
        if queued:
            failure = queued[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queued.pop(0)
            extra = {}
            if failure.status == 429:
                extra["Retry-After"] = str(failure.retry_after if failure.retry_after is not None else 1)
            return ApiAnswer(failure.status, {"ok": False, "error": failure.error}, extra)
        handler = _METHODS.get(method)
        if handler is None:
            return ApiAnswer(404, {"ok": False, "error": "unknown_method", "req_method": method})
        try:
            return ApiAnswer(200, {"ok": True, **handler(self, args)})
        except SlackApiFailure as exc:
            body: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            return ApiAnswer(exc.status, body)

    def _ts(self) -> str:
        now = max(self.clock(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _channel(self, args: dict[str, Any]) -> str:
        channel = _require(args, "channel", "channel_not_found")
        # A user id as channel means the bot's DM with that user, as in Slack.
        return "D" + channel[1:] if channel.startswith(("U", "W")) else channel

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        if not any(args.get(key) for key in ("text", "blocks", "attachments")):
            raise SlackApiFailure("no_text")
        _check_blocks(args)
        message: dict[str, Any] = {
            "type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID,
            "team": self.team_id, "ts": ts, "text": args.get("text") or "",
        }  # fmt: skip
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        return message

    def _view(self, view: dict[str, Any], *, view_id: str, root_id: str, previous: str | None) -> dict[str, Any]:
        stored = {
            **view,
            "id": view_id, "team_id": self.team_id, "app_id": APP_ID, "bot_id": BOT_ID,
            "state": {"values": {}}, "hash": hashlib.sha1(f"{view_id}{self.clock()}".encode()).hexdigest()[:20],
            "root_view_id": root_id, "previous_view_id": previous, "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "external_id": view.get("external_id", ""),
        }  # fmt: skip
        self.views[view_id] = stored
        return stored

    def _use_trigger(self, args: dict[str, Any]) -> str:
        trigger_id = _require(args, "trigger_id")
        issued = self.triggers.get(trigger_id)
        if issued is None:
            raise SlackApiFailure("invalid_trigger_id")
        issued_at, user_id, used = issued
        if self.clock() - issued_at > self.trigger_ttl:
            raise SlackApiFailure("expired_trigger_id")
        if used:
            raise SlackApiFailure("exchanged_trigger_id")
        self.triggers[trigger_id] = (issued_at, user_id, True)
        return user_id


def _auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://idp-local.slack.com/", "team": "IDP (local)", "user": "idp", "team_id": ws.team_id,
        "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False,
    }  # fmt: skip


def _post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws._channel(args)
    ts = ws._ts()
    message = ws._message(args, ts)
    ws.messages[(channel, ts)] = message
    return {"channel": channel, "ts": ts, "message": message}


def _update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws._channel(args)
    ts = _require(args, "ts", "message_not_found")
    existing = ws.messages.get((channel, ts))
    if existing is None:
        raise SlackApiFailure("message_not_found")
    message = {**ws._message(args, ts), "edited": {"user": BOT_USER_ID, "ts": ws._ts()}}
    # As in Slack: a reply stays in its thread, and metadata not given again is left intact.
    for key in ("thread_ts", "metadata"):
        if key not in message and existing.get(key) is not None:
            message[key] = existing[key]
    ws.messages[(channel, ts)] = message
    return {"channel": channel, "ts": ts, "text": message["text"], "message": message}


def _post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws._channel(args)
    user = _require(args, "user", "user_not_in_channel")
    if user not in ws.users:
        raise SlackApiFailure("user_not_in_channel")
    ts = ws._ts()
    ws.ephemeral.append({**ws._message(args, ts), "channel": channel, "to": user})
    return {"message_ts": ts}


def _views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _check_view(args.get("view"))
    user_id = ws._use_trigger(args)
    view_id = ws.new_id("V")
    ws.view_stacks[user_id] = [view_id]
    return {"view": ws._view(view, view_id=view_id, root_id=view_id, previous=None)}


def _views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _check_view(args.get("view"))
    user_id = ws._use_trigger(args)
    stack = ws.view_stacks.get(user_id) or []
    if not stack:
        raise SlackApiFailure("not_found")
    if len(stack) >= MAX_VIEW_STACK:
        raise SlackApiFailure("push_limit_reached")
    view_id = ws.new_id("V")
    stored = ws._view(view, view_id=view_id, root_id=stack[0], previous=stack[-1])
    stack.append(view_id)
    return {"view": stored}


def _views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _check_view(args.get("view"))
    view_id = args.get("view_id")
    if not view_id and args.get("external_id"):
        view_id = next((v["id"] for v in ws.views.values() if v.get("external_id") == args["external_id"]), None)
    if not view_id:
        raise SlackApiFailure("invalid_arguments", ["[ERROR] view_id or external_id is required"])
    current = ws.views.get(str(view_id))
    if current is None:
        raise SlackApiFailure("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackApiFailure("hash_conflict")
    previous = current["previous_view_id"]
    return {"view": ws._view(view, view_id=current["id"], root_id=current["root_view_id"], previous=previous)}


def _users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.users.get(_require(args, "user", "user_not_found"))
    if user is None:
        raise SlackApiFailure("user_not_found")
    profile: dict[str, Any] = {"real_name": user.name, "display_name": user.name, "team": ws.team_id}
    if user.email is not None:
        profile["email"] = user.email
    body = {
        "id": user.id, "team_id": ws.team_id, "name": user.name, "real_name": user.name, "deleted": False,
        "is_bot": False, "is_admin": False, "tz": "UTC", "profile": profile,
        "is_email_confirmed": user.email_confirmed,
    }  # fmt: skip
    return {"user": body}


def _conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = _require(args, "channel", "channel_not_found")
    if not channel.startswith(("C", "G", "D")):
        raise SlackApiFailure("channel_not_found")
    im = channel.startswith("D")
    name = "general" if channel == "C0GENERAL" else channel.lower()
    body = {
        "id": channel, "name": None if im else name, "is_channel": channel.startswith("C"), "is_im": im,
        "is_private": not channel.startswith("C"), "is_member": True, "is_archived": False,
    }  # fmt: skip
    if im:
        body["user"] = "U" + channel[1:]
    return {"channel": body}


def _flag(args: dict[str, Any], name: str) -> bool:
    return str(args.get(name, "")).lower() in ("1", "true")


def _bound(args: dict[str, Any], name: str, default: float) -> float:
    try:
        return float(args.get(name) or default)
    except ValueError:
        raise SlackApiFailure(f"invalid_ts_{name}") from None


def _listing(args: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``messages`` (in Slack's order) as Slack answers it: ``oldest``/``latest`` (exclusive
    unless ``inclusive``), ``limit`` (default 100, at most 999), an opaque ``cursor`` (base64 of
    ``next_ts:<ts>``), and message metadata only with ``include_all_metadata``."""
    oldest, latest = _bound(args, "oldest", 0), _bound(args, "latest", float("inf"))
    inclusive = _flag(args, "inclusive")

    def within(ts: float) -> bool:
        return oldest <= ts <= latest if inclusive else oldest < ts < latest

    chosen = [m for m in messages if within(float(m["ts"]))]
    try:
        limit = max(1, min(int(args.get("limit") or 100), 999))
    except ValueError:
        raise SlackApiFailure("invalid_limit") from None
    start = 0
    if args.get("cursor"):
        try:
            next_ts = base64.b64decode(str(args["cursor"]), validate=True).decode().removeprefix("next_ts:")
        except (binascii.Error, UnicodeDecodeError):
            raise SlackApiFailure("invalid_cursor") from None
        start = next((i for i, m in enumerate(chosen) if m["ts"] == next_ts), -1)
        if start < 0:
            raise SlackApiFailure("invalid_cursor")
    page, rest = chosen[start : start + limit], chosen[start + limit :]
    keep_metadata = _flag(args, "include_all_metadata")
    shown = [{k: v for k, v in m.items() if keep_metadata or k != "metadata"} for m in page]
    cursor = base64.b64encode(f"next_ts:{rest[0]['ts']}".encode()).decode() if rest else ""
    return {"messages": shown, "has_more": bool(rest), "response_metadata": {"next_cursor": cursor}}


def _replies_of(ws: Workspace, channel: str, ts: str) -> list[dict[str, Any]]:
    return sorted(
        (m for (c, t), m in ws.messages.items() if c == channel and m.get("thread_ts") == ts and t != ts),
        key=lambda m: float(m["ts"]),
    )


def _conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """The channel's messages, newest first, without thread replies; a thread's parent shows its replies' count."""
    channel = ws._channel(args)
    top: list[dict[str, Any]] = []
    for (c, ts), message in ws.messages.items():
        if c != channel or message.get("thread_ts") not in (None, ts):
            continue
        replies = _replies_of(ws, channel, ts)
        if replies:
            message = {**message, "thread_ts": ts, "reply_count": len(replies), "latest_reply": replies[-1]["ts"]}
        top.append(message)
    top.sort(key=lambda m: float(m["ts"]), reverse=True)
    return _listing(args, top)


def _conversations_replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """A thread, its parent first, then the replies oldest first (``ts`` may name any message of it)."""
    channel = ws._channel(args)
    message = ws.messages.get((channel, _require(args, "ts", "thread_not_found")))
    if message is None:
        raise SlackApiFailure("thread_not_found")
    parent_ts = str(message.get("thread_ts") or message["ts"])
    parent = ws.messages.get((channel, parent_ts))
    thread = ([parent] if parent is not None else []) + _replies_of(ws, channel, parent_ts)
    return _listing(args, thread)


_METHODS: dict[str, Callable[[Workspace, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _post_ephemeral,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "users.info": _users_info,
    "conversations.info": _conversations_info,
    "conversations.history": _conversations_history,
    "conversations.replies": _conversations_replies,
}
