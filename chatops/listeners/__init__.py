"""Listeners by kind; each module registers its own with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from listeners import actions, commands, events, views

__all__ = ["register_all"]


def register_all(app: App) -> None:
    for module in (commands, views, actions, events):
        module.register(app)
