"""The layer's only caller of the Slack Web API (the platform's own messages about deployments).

`slack_sdk`'s `WebClient` is imported and built on first use, pointed at `base_url` (Slack,
or the emulator locally), with a `RateLimitErrorRetryHandler` so an HTTP 429 is retried once
after its `Retry-After` (and a dropped connection once). The wait is bounded
(`max_retry_wait`): the platform also posts while answering an API request (29 s at most),
and a row Slack refused is sent again by the poller anyway. Every failure becomes a
`SlackError` carrying Slack's own error code (`ratelimited`, `channel_not_found`, ...) or,
when Slack could not be reached, none.
The bot token is read when the first call needs it and is never logged nor shown in a repr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from idp.errors import DownstreamError

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.http_retry import RetryHandler

__all__ = ["SlackClient", "SlackError"]

Block = dict[str, Any]


class SlackError(DownstreamError):
    """Slack answered `{"ok": false, "error": slack_error}` (HTTP `http_status`), or was unreachable."""

    code = "slack_error"

    def __init__(self, message: str, *, slack_error: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, details={"slack_error": slack_error, "http_status": http_status})
        self.slack_error = slack_error
        self.http_status = http_status


class SlackClient:
    """Posts, updates and finds channel messages as the platform's bot.

    `token` is the bot token, or a function returning it (read once, on the first call,
    so building a client costs no Secrets Manager read).
    """

    MAX_PAGES = 10  # of PAGE_SIZE messages: how far `find_message` looks back
    PAGE_SIZE = 200

    def __init__(
        self,
        token: str | Callable[[], str],
        *,
        base_url: str = "https://slack.com/api/",
        timeout: float = 5.0,
        rate_limit_retries: int = 1,
        max_retry_wait: int = 5,
    ) -> None:
        self._token = token
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = timeout
        self._rate_limit_retries = rate_limit_retries
        self._max_retry_wait = max_retry_wait
        self._client: WebClient | None = None

    def __repr__(self) -> str:
        return f"SlackClient({self.base_url!r})"

    def _web(self) -> WebClient:
        if self._client is None:
            from slack_sdk import WebClient
            from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

            token = self._token() if callable(self._token) else self._token
            self._client = WebClient(
                token=token,
                base_url=self.base_url,
                timeout=int(self._timeout),
                retry_handlers=[
                    ConnectionErrorRetryHandler(max_retry_count=1),
                    _bounded_rate_limit_handler(self._rate_limit_retries, self._max_retry_wait),
                ],
            )
        return self._client

    def _call(self, method: str, call: Callable[[WebClient], Any]) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            response = call(self._web())
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            status = exc.response.status_code
            raise SlackError(
                f"Slack {method} failed: {error or f'HTTP {status}'}", slack_error=error, http_status=status
            ) from exc
        except (SlackClientError, OSError) as exc:
            raise SlackError(f"Slack {method}: unreachable ({type(exc).__name__})") from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    def post_message(
        self,
        channel: str,
        text: str,
        blocks: list[Block],
        thread_ts: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Posts to `channel` (in the thread of `thread_ts` if given), with Slack message `metadata`
        (`{"event_type", "event_payload"}`) if given; the new message's ts."""
        data = self._call(
            "chat.postMessage",
            lambda web: web.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False, metadata=metadata
            ),
        )
        ts = data.get("ts")
        if not ts:
            raise SlackError("Slack chat.postMessage answered without a message ts", slack_error="no_ts")
        return str(ts)

    def update_message(
        self, channel: str, ts: str, text: str, blocks: list[Block], *, metadata: dict[str, Any] | None = None
    ) -> None:
        """Replaces the text and blocks (and the metadata, if given) of the message `ts` in `channel`."""
        self._call(
            "chat.update",
            lambda web: web.chat_update(channel=channel, ts=ts, text=text, blocks=blocks, metadata=metadata),
        )

    def find_message(
        self,
        channel: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        thread_ts: str | None = None,
        oldest: float | None = None,
    ) -> str | None:
        """The ts of the newest message in `channel` whose metadata has `event_type` and an event_payload
        holding `payload`'s items: among the channel's messages since `oldest` (Unix time), or the
        replies in the thread of `thread_ts`. None when none is among the first `MAX_PAGES` pages
        (`conversations.history` / `conversations.replies`; the bot needs channels:history)."""
        cursor: str | None = None
        for _ in range(self.MAX_PAGES):
            data = self._page(channel, thread_ts, oldest, cursor)
            for message in data.get("messages") or []:
                metadata = message.get("metadata") or {}
                found = metadata.get("event_payload") or {}
                if metadata.get("event_type") == event_type and all(found.get(k) == v for k, v in payload.items()):
                    return str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None

    def _page(self, channel: str, thread_ts: str | None, oldest: float | None, cursor: str | None) -> dict[str, Any]:
        if thread_ts is not None:
            return self._call(
                "conversations.replies",
                lambda web: web.conversations_replies(
                    channel=channel, ts=thread_ts, cursor=cursor, limit=self.PAGE_SIZE, include_all_metadata=True
                ),
            )
        return self._call(
            "conversations.history",
            lambda web: web.conversations_history(
                channel=channel,
                cursor=cursor,
                limit=self.PAGE_SIZE,
                oldest=f"{oldest:.6f}" if oldest is not None else None,
                include_all_metadata=True,
            ),
        )

    def confirmed_email(self, user_id: str) -> str | None:
        """The e-mail of the workspace member `user_id` if Slack confirmed it (`users.info` →
        `is_email_confirmed`); None for an unconfirmed or missing address, or an unknown user."""
        try:
            data = self._call("users.info", lambda web: web.users_info(user=user_id))
        except SlackError as exc:
            if exc.slack_error in ("user_not_found", "user_not_visible"):
                return None
            raise
        user = data.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        return str(email) if email and user.get("is_email_confirmed") is True else None


def _bounded_rate_limit_handler(max_retries: int, max_wait: int) -> RetryHandler:
    """slack_sdk's 429 handler, except that a `Retry-After` over `max_wait` seconds is not waited for."""
    from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
        def _can_retry(
            self,
            *,
            state: RetryState,
            request: HttpRequest,
            response: HttpResponse | None = None,
            error: Exception | None = None,
        ) -> bool:
            if response is None or not super()._can_retry(state=state, request=request, response=response):
                return False
            values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
            try:
                wait = int(values[0]) if values else 1
            except ValueError:
                return False
            return wait <= max_wait

    return BoundedRateLimitRetryHandler(max_retry_count=max_retries)
