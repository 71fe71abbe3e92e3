"""Answers that arrive after the ack: one post to the interaction's response_url.

Slack allows five posts to a response_url within 30 minutes; every command posts at most
one reply (its result or its error), so the budget is never at risk.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from slack_blocks import ModalMetadata

import idp.observability as observability  # its Powertools logger is created on first use

__all__ = ["SLACK_RESPONSE_ORIGINS", "reply", "response_url_allowed", "response_url_of"]


def response_url_of(body: dict[str, Any]) -> str | None:
    """The interaction's response_url, or the one a modal carried in its metadata."""
    if body.get("response_url"):
        return str(body["response_url"])
    urls = body.get("response_urls") or []
    if urls and isinstance(urls[0], dict) and urls[0].get("response_url"):
        return str(urls[0]["response_url"])
    view = body.get("view") or {}
    return ModalMetadata.decode(view.get("private_metadata")).response_url


SLACK_RESPONSE_ORIGINS = ("https://hooks.slack.com",)


def response_url_allowed(url: str) -> bool:
    """Whether `url` is on Slack's response host (or the Slack API's own origin: the emulator's, locally)."""
    from idp.config import get_settings

    def origin(value: str) -> str:
        parts = urlsplit(value)
        return f"{parts.scheme}://{parts.netloc}".lower()

    allowed = {*SLACK_RESPONSE_ORIGINS, origin(get_settings().slack_api_url)}
    return origin(url) in allowed


def reply(body: dict[str, Any], text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
    """Posts an ephemeral reply to the requester; False when there is nowhere to post it."""
    from slack_sdk.webhook import WebhookClient

    url = response_url_of(body)
    if url is None:
        observability.logger.warning("no response_url to reply to", extra={"type": body.get("type")})
        return False
    if not response_url_allowed(url):
        # A response_url comes from the request body: only ever post to Slack's own hosts.
        observability.logger.warning("response_url refused: not Slack's host", extra={"host": urlsplit(url).netloc})
        return False
    result = WebhookClient(url, timeout=5).send(
        text=text, blocks=blocks, response_type="ephemeral", replace_original=False
    )
    if result.status_code != 200:
        observability.logger.warning(
            "response_url post failed", extra={"status": result.status_code, "body": result.body[:200]}
        )
        return False
    return True
