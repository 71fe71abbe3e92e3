"""Events API: a mention of the app answers with the usage, in a thread."""

from __future__ import annotations

from typing import Any

from command_parser import USAGE
from slack_bolt import Ack, App
from slack_sdk import WebClient

__all__ = ["register"]


def ack_event(ack: Ack) -> None:
    ack()


def answer_mention(event: dict[str, Any], client: WebClient) -> None:
    client.chat_postMessage(channel=event["channel"], thread_ts=event.get("ts"), text=USAGE)


def register(app: App) -> None:
    app.event("app_mention")(ack=ack_event, lazy=[answer_mention])
