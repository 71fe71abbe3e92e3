"""Argo CD API errors, shaped like its gRPC-gateway answers: ``{"error", "code", "message"}``."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgoError",
    "already_exists",
    "invalid",
    "not_found",
    "permission_denied",
    "precondition",
    "unauthenticated",
]

# HTTP status -> the gRPC code the gateway would have mapped to it.
GRPC_CODES: dict[int, int] = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 500: 13, 501: 12, 503: 14, 504: 4}


class ArgoError(Exception):
    """An error answered with HTTP ``status`` and Argo CD's JSON error body."""

    def __init__(self, status: int, message: str, *, grpc_code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.grpc_code = GRPC_CODES.get(status, 2) if grpc_code is None else grpc_code

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.grpc_code, "message": self.message}


def unauthenticated(message: str = "invalid session: token signature is invalid") -> ArgoError:
    return ArgoError(401, message)


def permission_denied(detail: str = "") -> ArgoError:
    return ArgoError(403, f"permission denied: {detail}" if detail else "permission denied")


def not_found(kind: str, name: str) -> ArgoError:
    return ArgoError(404, f'{kind}.argoproj.io "{name}" not found')


def invalid(message: str) -> ArgoError:
    return ArgoError(400, message)


def precondition(message: str) -> ArgoError:
    """FailedPrecondition: the gateway answers 400 with gRPC code 9."""
    return ArgoError(400, message, grpc_code=9)


def already_exists(message: str) -> ArgoError:
    return ArgoError(409, message)
