"""The Slack chat-ops function: one Chalice route, POST /slack/events, handed to Bolt.

Slack requests carry Slack's signature, not a platform token, so the route has no API
Gateway authorizer; Bolt checks the signature (and its 300 s window) before anything
else. Cold start pays for Chalice only: Bolt, the Slack SDK and the listeners are
imported when the first request arrives.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Response

if TYPE_CHECKING:
    from chalice.app import Request
    from slack_bolt.adapter.aws_lambda.chalice_handler import ChaliceSlackRequestHandler
    from slack_sdk.signature import SignatureVerifier

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
_verifier: SignatureVerifier | None = None
_built_for: Settings | None = None
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_INVALID_REQUEST = {
    "error": {
        "code": "invalid_slack_signature",
        "message": "the request is not signed by Slack, or its timestamp is more than 300 s old",
        "details": None,
    }
}


def slack_handler() -> tuple[ChaliceSlackRequestHandler, SignatureVerifier]:
    """The Bolt handler and Slack's signature verifier, built on first use and rebuilt only if the
    settings are reloaded."""
    global _handler, _verifier, _built_for
    from idp.config import get_settings

    settings = get_settings()
    with _lock:
        if _handler is None or _verifier is None or _built_for is not settings:
            from bolt_app import build_handler
            from slack_sdk.signature import SignatureVerifier

            _handler = build_handler(settings, app, on_lambda=bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")))
            _verifier = SignatureVerifier(settings.resolved_slack_signing_secret())
            _built_for = settings
        return _handler, _verifier


def signed_by_slack(request: Request, verifier: SignatureVerifier) -> bool:
    """Slack's signature, checked before Bolt sees the request. Bolt builds its context from the body
    before it verifies, and fails on what no Slack request holds: a JSON body that is not an object
    (a 500), a timestamp that is not a number (its error handler's 200). Unsigned, neither reaches it."""
    timestamp = request.headers.get("x-slack-request-timestamp") or ""
    signature = request.headers.get("x-slack-signature") or ""
    if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        return False
    raw = request.raw_body or b""
    try:
        body = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def malformed(request: Request) -> str | None:
    """Why a signed body is not one Slack sends (a form with a payload, command or event; or a JSON
    object), or None."""
    raw = request.raw_body or b""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw  # signed_by_slack decoded it already
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media == "application/json":
        try:
            document = json.loads(text)
        except ValueError:
            return "the body is not valid JSON"
        return None if isinstance(document, dict) else "the JSON body is not an object"
    if media == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qs

        form = parse_qs(text)
        return None if form else "the form body is empty"
    return f"Slack sends forms or JSON, not {media or 'untyped bodies'}"


# Any media type: Slack sends forms and JSON, and anything unsigned is answered 401 by `signed_by_slack`
# in the platform's error shape (Chalice's own 415 would not be).
@app.route("/slack/events", methods=["POST"], content_types=["*/*"])
def slack_events() -> Response:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling a view
    handler, verifier = slack_handler()
    if not signed_by_slack(request, verifier):
        return Response(status_code=401, body=json.dumps(_INVALID_REQUEST), headers=_json_headers())
    problem = malformed(request)
    if problem is not None:  # signed, yet no Slack request looks like this: a 400 that names why
        body = {"error": {"code": "invalid_slack_request", "message": problem, "details": None}}
        return Response(status_code=400, body=json.dumps(body), headers=_json_headers())
    response: Response = handler.handle(request)
    if response.status_code == 401:
        # Bolt's {"error": "invalid request"}, in the platform's error shape.
        return Response(status_code=401, body=json.dumps(_INVALID_REQUEST), headers=_json_headers())
    return response


def _json_headers() -> dict[str, Any]:
    return {"Content-Type": "application/json"}
