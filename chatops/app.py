"""The Slack chat-ops function: one Chalice route, POST /slack/events, handed to Bolt.

Slack requests carry Slack's signature, not a platform token, so the route has no API
Gateway authorizer; Bolt checks the signature (and its 300 s window) before anything
else. Cold start pays for Chalice only: Bolt, the Slack SDK and the listeners are
imported when the first request arrives.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Response

if TYPE_CHECKING:
    from slack_bolt.adapter.aws_lambda.chalice_handler import ChaliceSlackRequestHandler

    from idp.config import Settings

# On Lambda this folder is the task root; loaded from elsewhere (the local gateway loads
# the file by path), its modules must still import as top-level ones.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

__all__ = ["app"]

app = Chalice(app_name="idp-chatops")

_lock = threading.Lock()
_handler: ChaliceSlackRequestHandler | None = None
_built_for: Settings | None = None
_INVALID_REQUEST = {
    "error": {
        "code": "invalid_slack_signature",
        "message": "the request is not signed by Slack, or its timestamp is more than 300 s old",
        "details": None,
    }
}


def slack_handler() -> ChaliceSlackRequestHandler:
    """The Bolt handler, built on first use and rebuilt only if the settings are reloaded."""
    global _handler, _built_for
    from idp.config import get_settings

    settings = get_settings()
    with _lock:
        if _handler is None or _built_for is not settings:
            from bolt_app import build_handler

            _handler = build_handler(settings, app, on_lambda=bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")))
            _built_for = settings
        return _handler


@app.route(
    "/slack/events",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded", "application/json"],
)
def slack_events() -> Response:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling a view
    response: Response = slack_handler().handle(request)
    if response.status_code == 401:
        # Bolt's {"error": "invalid request"}, in the platform's error shape.
        return Response(status_code=401, body=json.dumps(_INVALID_REQUEST), headers=_json_headers())
    return response


def _json_headers() -> dict[str, Any]:
    return {"Content-Type": "application/json"}
