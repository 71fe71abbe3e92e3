"""Fault injection: the next N matching requests answer a Status error."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import ApiError

__all__ = ["Fault", "FaultBook"]


@dataclass
class Fault:
    method: str | None  # GET, POST, ...; None matches any
    resource: str | None  # plural ("resourcequotas") or "plural/subresource"; None matches any
    status: int
    count: int
    message: str

    def matches(self, method: str, plural: str | None, subresource: str | None) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.resource is None:
            return True
        return plural is not None and self.resource in (plural, f"{plural}/{subresource}")

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "resource": self.resource,
            "status": self.status,
            "count": self.count,
            "message": self.message,
        }


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if not 400 <= fault.status <= 599:
            raise ValueError(f"status must be an HTTP error code (400-599), not {fault.status}")
        if fault.count < 1:
            raise ValueError(f"count must be at least 1, not {fault.count}")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, plural: str | None, subresource: str | None) -> ApiError | None:
        """The error for this request if a queued fault matches it (using up one of its count)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, plural, subresource):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return ApiError(fault.status, fault.message)
        return None
