"""A fake Slack over real HTTP (Web API, response_url, signed requests to the app); see ``emulator.py``."""

from .blocks import BlockError, check_message_blocks, check_view
from .control import ChatEvent, EmulatorControl, SlackEmulatorUnavailable, chat
from .emulator import SlackEmulator, sign_request
from .render import render_text
from .webapi import DEFAULT_USERS, RecordedCall

__all__ = [
    "DEFAULT_USERS",
    "BlockError",
    "ChatEvent",
    "EmulatorControl",
    "RecordedCall",
    "SlackEmulator",
    "SlackEmulatorUnavailable",
    "chat",
    "check_message_blocks",
    "check_view",
    "render_text",
    "sign_request",
]
