"""The one place where errors become Slack messages.

`idp.errors.IdpError` (raised by our code, or translated from the API's answer by the API
client) becomes a clear ephemeral message with the platform's own words; anything else is
logged with its stack and shown as an internal error with a reference, never a trace.
In the ack step the message is the HTTP answer; after it (lazy work) it is posted to the
response_url; a failing modal submission shows it in the modal.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from replies import reply
from slack_blocks import error_view
from slack_bolt import BoltRequest, BoltResponse

import idp.observability as observability  # its Powertools logger is created on first use
from idp.errors import Forbidden, IdpError, InvalidInput

__all__ = ["handle_error", "message_for", "replied_errors"]


def message_for(error: Exception) -> str:
    """The text a Slack user sees for `error`."""
    if isinstance(error, InvalidInput) and error.code == "usage":
        return error.message
    if isinstance(error, IdpError):
        icon = ":no_entry:" if isinstance(error, Forbidden) or error.status in (401, 403) else ":warning:"
        lines = [f"{icon} {error.message}"]
        if isinstance(error.details, list):
            for detail in error.details[:10]:
                if isinstance(detail, dict) and detail.get("message"):
                    lines.append(f"• `{detail.get('field', '?')}`: {detail['message']}")
        return "\n".join(lines)
    reference = uuid.uuid4().hex[:12]
    observability.logger.exception("chat-ops request failed", extra={"reference": reference})
    return f":boom: Something went wrong on our side. Quote reference `{reference}` when reporting it."


def handle_error(error: Exception, body: dict[str, Any], request: BoltRequest) -> BoltResponse:
    text = message_for(error)
    if isinstance(error, IdpError) and error.status >= 500:
        observability.logger.warning(
            "chat-ops request failed downstream", extra={"code": error.code, "error": error.message}
        )
    if request.lazy_only:
        reply(body, text)  # nobody reads a lazy invocation's HTTP answer
        return BoltResponse(status=200, body="")
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body={"response_action": "update", "view": error_view(text)})
    if body.get("command"):
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    reply(body, text)  # buttons and events: Slack ignores the HTTP answer's text
    return BoltResponse(status=200, body="")


@contextlib.contextmanager
def replied_errors(body: dict[str, Any]) -> Iterator[None]:
    """For lazy listeners: Bolt's lazy runner only logs what they raise, so errors are posted
    to the requester here (the same words as `handle_error`) and not raised further: a
    handled failure must not make Lambda retry the asynchronous invocation."""
    try:
        yield
    except Exception as error:
        if isinstance(error, IdpError) and error.status >= 500:
            observability.logger.warning(
                "chat-ops work failed downstream", extra={"code": error.code, "error": error.message}
            )
        reply(body, message_for(error))
