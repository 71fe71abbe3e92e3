"""The one parser of the API's error answers: `{"error": {"code", "message", "details"}}` → `idp.errors`."""

from __future__ import annotations

from typing import Any

from idp.errors import (
    Conflict,
    DownstreamError,
    Forbidden,
    IdpError,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)

__all__ = ["api_unreachable", "error_from_response"]

_BY_STATUS: dict[int, type[IdpError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    415: InvalidInput,
    422: InvalidInput,
    429: RateLimited,
}


def error_from_response(status: int, body: Any, *, where: str = "the platform API") -> IdpError:
    """The API's error answer as one of our errors, with the answer's own HTTP `status`."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        message, code, details = str(error["message"]), error.get("code"), error.get("details")
    else:
        message, code, details = f"{where} answered HTTP {status}", None, None
    kind = _BY_STATUS.get(status) or (DownstreamError if status >= 500 else IdpError)
    found = kind(message, code=str(code) if code else None, details=details)
    found.status = status
    return found


def api_unreachable(base_url: str, reason: str) -> DownstreamError:
    """No answer at all (connection refused, DNS, TLS, timeout): code `api_unreachable`, status 503."""
    error = DownstreamError(f"cannot reach the API at {base_url}: {reason}", code="api_unreachable")
    error.status = 503
    return error
