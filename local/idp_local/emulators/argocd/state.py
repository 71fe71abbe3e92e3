"""The emulator's in-memory state: projects, applications, running operations, events, tokens."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["ADMIN", "ARGOCD_NAMESPACE", "Caller", "Obj", "Operation", "State", "default_project", "now_iso"]

Obj = dict[str, Any]
ARGOCD_NAMESPACE = "argocd"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the admin (any project) or a project role token (its project only)."""

    username: str
    project: str | None = None

    def may_see(self, project: str) -> bool:
        return self.project is None or self.project == project


ADMIN = Caller("admin")


@dataclass
class Operation:
    """Bookkeeping for an application's running sync (the public part lives in ``status.operationState``)."""

    revision: str
    started: float
    initiated_by: str
    polls: int = 0
    fail_message: str | None = None
    terminating: bool = False


def default_project() -> Obj:
    """Argo CD's built-in ``default`` project: any repo, any destination."""
    return {
        "metadata": {"name": "default", "namespace": ARGOCD_NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
        "status": {},
    }


@dataclass
class State:
    """Everything behind one re-entrant lock; handlers take ``state.lock`` and work on the dicts."""

    sync_duration: float = 0.2
    sync_polls: int | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    projects: dict[str, Obj] = field(default_factory=dict)
    apps: dict[str, Obj] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)  # running, by app name
    fail_next: dict[str, str] = field(default_factory=dict)  # app -> message of its next failing sync
    degraded: dict[str, str] = field(default_factory=dict)  # app -> health message after its sync
    events: list[Obj] = field(default_factory=list)
    tokens: dict[str, Caller] = field(default_factory=dict)  # issued session and project tokens
    _version: int = 0

    def reset(self) -> None:
        with self.lock:
            self.projects = {"default": default_project()}
            self._stamp(self.projects["default"])
            self.apps.clear()
            self.operations.clear()
            self.fail_next.clear()
            self.degraded.clear()
            self.events.clear()
            self.tokens.clear()

    def _stamp(self, obj: Obj, *, created: bool = True) -> None:
        """Server-owned metadata: uid and creationTimestamp once, a new resourceVersion on every write."""
        self._version += 1
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = ARGOCD_NAMESPACE
        if created or "uid" not in meta:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_iso())
        meta["resourceVersion"] = str(self._version)

    def stamp(self, obj: Obj, *, created: bool = True) -> None:
        with self.lock:
            self._stamp(obj, created=created)

    def event(self, app: Obj, reason: str, message: str, *, warning: bool = False) -> None:
        """Record a Kubernetes-style Event about an application (what ``GET .../events`` lists)."""
        name = app["metadata"]["name"]
        stamp = now_iso()
        self.events.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{name}.{uuid.uuid4().hex[:16]}",
                    "namespace": ARGOCD_NAMESPACE,
                    "creationTimestamp": stamp,
                },
                "involvedObject": {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "name": name,
                    "namespace": ARGOCD_NAMESPACE,
                    "uid": app["metadata"].get("uid", ""),
                },
                "reason": reason,
                "message": message,
                "type": "Warning" if warning else "Normal",
                "source": {"component": "argocd-server"},
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
            }
        )

    @staticmethod
    def clock() -> float:
        return time.monotonic()

    @staticmethod
    def copy(obj: Obj) -> Obj:
        return copy.deepcopy(obj)
