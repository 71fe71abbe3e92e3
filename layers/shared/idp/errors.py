"""One error family for the whole platform.

Every edge (HTTP, Slack, CLI) translates these in exactly one place; business code raises
them and never builds responses itself.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "DownstreamError",
    "Forbidden",
    "IdpError",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Unauthenticated",
]


class IdpError(Exception):
    """Base of every error the platform reports to a caller."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(IdpError):
    """The caller sent something we cannot accept; `details` names the field(s)."""

    status = 422
    code = "invalid_input"


class Unauthenticated(IdpError):
    status = 401
    code = "unauthenticated"


class Forbidden(IdpError):
    status = 403
    code = "forbidden"


class NotFound(IdpError):
    status = 404
    code = "not_found"


class Conflict(IdpError):
    status = 409
    code = "conflict"


class RateLimited(IdpError):
    status = 429
    code = "rate_limited"


class DownstreamError(IdpError):
    """A system we depend on (Kubernetes, GitHub, Argo CD, Slack, AWS) failed.

    The platform has recorded what it could; retrying the same request finishes the work.
    """

    status = 502
    code = "downstream_error"
