"""Every request is screened before any route sees it: what a client can send never becomes a 5xx.

- A body must be JSON (`Content-Type: application/json`, else 415 `unsupported_media_type`),
  at most `MAX_BODY_BYTES` (else 413 `payload_too_large`), UTF-8 (else 400
  `invalid_encoding`), valid JSON (else 400 `invalid_json`), nested at most `MAX_DEPTH`
  deep and with integers of at most `MAX_INT_DIGITS` digits (else 422 `body_too_complex`).
- No control character or NUL anywhere in a body string (free text may hold tabs and line
  breaks), a path parameter, a query parameter, or the headers we read: 422
  `control_characters` naming the field. (PostgreSQL refuses NUL in text; a name with a
  newline could never be used again.)

The limits are documented in the README; API Gateway itself refuses bodies over 10 MB.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from idp.errors import IdpError, InvalidInput

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "screen"]

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_INT_DIGITS = 18
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but \t \n \r
_HEADERS_READ = ("x-idp-client", "idempotency-key", "content-type")


class _Unsupported(IdpError):
    status = 415
    code = "unsupported_media_type"


class _TooLarge(IdpError):
    status = 413
    code = "payload_too_large"


class _BadRequest(IdpError):
    status = 400
    code = "bad_request"


def screen(event: Mapping[str, Any]) -> IdpError | None:
    """The error this request must get before any route runs, or None to let it through."""
    for where, values in (
        ("path", event.get("pathParameters") or {}),
        ("query", event.get("queryStringParameters") or {}),
    ):
        for name, value in values.items():
            if isinstance(value, str) and _CONTROLS.search(value):
                return _control(f"{where}.{name}")
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    for name in _HEADERS_READ:
        value = headers.get(name)
        if isinstance(value, str) and _CONTROLS.search(value):
            return _control(f"header.{name}")
    body = event.get("body")
    if body is None or body == "":
        return None
    return _screen_body(body, bool(event.get("isBase64Encoded")), headers.get("content-type"))


def _screen_body(body: str, encoded: bool, content_type: str | None) -> IdpError | None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        return _Unsupported(
            f"the request body must be JSON (Content-Type: application/json), not {media or 'untyped'}",
            details=[{"field": "header.content-type", "message": "must be application/json"}],
        )
    raw = base64.b64decode(body) if encoded else body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return _TooLarge(f"the request body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _BadRequest("the request body is not UTF-8", code="invalid_encoding")
    try:
        document = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except _NumberTooLong:
        return _too_complex(f"integers have at most {MAX_INT_DIGITS} digits")
    except RecursionError:
        return _too_complex(f"JSON nests at most {MAX_DEPTH} levels")
    except ValueError as exc:
        return _BadRequest(f"the request body is not valid JSON: {exc}", code="invalid_json")
    return _check(document, "body", 0)


class _NumberTooLong(ValueError):
    pass


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NumberTooLong(text[:20])
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check(value: Any, field: str, depth: int) -> IdpError | None:
    if depth > MAX_DEPTH:
        return _too_complex(f"JSON nests at most {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _control(field) if _BODY_CONTROLS.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{field}.{key}" if field != "body" else str(key)
            if _CONTROLS.search(key):
                return _control(path)
            found = _check(item, path, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _check(item, f"{field}.{index}", depth + 1)
            if found is not None:
                return found
    return None


def _too_complex(message: str) -> InvalidInput:
    return InvalidInput(f"the request body is too complex: {message}", code="body_too_complex")


def _control(field: str) -> InvalidInput:
    return InvalidInput(
        f"{field} must not contain control characters (NUL, newlines, ...)",
        code="control_characters",
        details=[{"field": field, "message": "must not contain control characters"}],
    )
