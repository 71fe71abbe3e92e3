"""``ArgoCdEmulator``: the Argo CD state and WSGI app served over real HTTP in a daemon thread."""

from __future__ import annotations

import argparse
import threading

from idp_local.serving import BackgroundServer, Served

from . import operations
from .app import ArgoApp, Fault
from .errors import not_found
from .state import Obj, State

__all__ = ["ArgoCdEmulator", "main"]


class ArgoCdEmulator(Served):
    """A stateful, in-memory Argo CD API server (projects, applications, syncs) for tests and ``make dev``.

    Usage::

        argocd = ArgoCdEmulator(sync_polls=1).start()   # a sync finishes on the first read after it
        client = ArgoCdClient(argocd.url, argocd.admin_token)
        argocd.fail_next_sync("shop-dev", message="ImagePullBackOff")
        argocd.stop()

    A sync stays ``Running`` until the application has been read ``sync_polls`` times (when given)
    or ``sync_duration`` seconds have passed.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        admin_token: str = "argocd-local-admin",
        sync_duration: float = 0.2,
        sync_polls: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.admin_token = admin_token
        self._state = State(sync_duration=sync_duration, sync_polls=sync_polls)
        self._state.reset()
        self._app = ArgoApp(self._state, admin_token)
        self._server = BackgroundServer(self._app, host, port, name="argocd-emulator")

    @property
    def url(self) -> str:
        if not self._server.running:
            raise RuntimeError("the Argo CD emulator is not started")
        return self.base_url

    # timing ---------------------------------------------------------------------------------
    @property
    def sync_duration(self) -> float:
        return self._state.sync_duration

    @sync_duration.setter
    def sync_duration(self, seconds: float) -> None:
        self._state.sync_duration = seconds

    @property
    def sync_polls(self) -> int | None:
        return self._state.sync_polls

    @sync_polls.setter
    def sync_polls(self, polls: int | None) -> None:
        self._state.sync_polls = polls

    # test controls --------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to only the ``default`` project: no apps, no issued tokens, no faults."""
        self._state.reset()
        self._app.clear_faults()

    def fail_next_sync(self, app: str, message: str = "one or more objects failed to apply") -> None:
        """The app's next sync (or rollback) ends ``Failed`` with ``message`` and health ``Degraded``."""
        with self._state.lock:
            if app not in self._state.apps:
                raise not_found("applications", app)
            self._state.fail_next[app] = message

    def degrade(self, app: str, message: str = "Deployment exceeded its progress deadline") -> None:
        """Health ``Degraded`` with ``message``: now if deployed and idle, else when its sync ends."""
        with self._state.lock:
            if app not in self._state.apps:
                raise not_found("applications", app)
            operations.degrade(self._state, app, message)

    def fail_next(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int = 503,
        count: int = 1,
        message: str = "injected failure",
    ) -> None:
        """The next ``count`` API requests matching ``method`` and a path prefix answer ``status``."""
        self._app.add_fault(Fault(method.upper() if method else None, path, status, count, message))

    def apps(self) -> list[Obj]:
        """Copies of every application (operations that are due are finished first; no poll is counted)."""
        with self._state.lock:
            for name in list(self._state.apps):
                operations.advance(self._state, name, poll=False)
            return [self._state.copy(a) for _, a in sorted(self._state.apps.items())]

    def app(self, name: str) -> Obj | None:
        return next((a for a in self.apps() if a["metadata"]["name"] == name), None)

    def projects(self) -> list[Obj]:
        with self._state.lock:
            return [self._state.copy(p) for _, p in sorted(self._state.projects.items())]

    def events(self, app: str | None = None) -> list[Obj]:
        with self._state.lock:
            return [self._state.copy(e) for e in self._state.events if app in (None, e["involvedObject"]["name"])]


def main(argv: list[str] | None = None) -> None:
    """``python -m idp_local.emulators.argocd``: serve until interrupted (for other processes)."""
    parser = argparse.ArgumentParser(description="Run the in-memory Argo CD API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--admin-token", default="argocd-local-admin")
    parser.add_argument("--sync-duration", type=float, default=0.2)
    args = parser.parse_args(argv)
    emulator = ArgoCdEmulator(
        args.host, args.port, admin_token=args.admin_token, sync_duration=args.sync_duration
    ).start()
    print(emulator.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
