"""What every CLI test shares."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture(scope="session", autouse=True)
def platform_logger_outside_the_cli() -> None:
    """Create the platform's Powertools logger before the first `CliRunner` call.

    The functions run in this process, behind the local gateway, and their logger binds to
    whatever `sys.stdout` is when `idp.observability` is first imported. Left to the first
    `idp login`, that is the CliRunner's stream, closed when the command ends, and every later
    log line becomes a "--- Logging error ---" traceback in the stderr of the commands that follow.
    """
    getattr(importlib.import_module("idp.observability"), "logger")  # noqa: B009 - created on first use
