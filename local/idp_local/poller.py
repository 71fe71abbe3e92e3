"""The deploy poller on one machine: a background thread in place of the EventBridge schedule.

It runs `idp.deploy.tracking.poll_once` every `interval` seconds with its own database
connection, Argo CD client and Slack notifier, so it never waits on (or blocks) a request
thread's connection. A failing pass is logged and the next one runs as usual.

    poller = DeployPoller(get_settings(), interval=1.0).start()
    ...
    poller.stop()
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Self

from idp.clients.argocd import ArgoCdClient
from idp.db import Database
from idp.deploy import tracking
from idp.deploy.notifications import notifier_from_settings

if TYPE_CHECKING:
    from idp.config import Settings
    from idp.deploy.notifications import Notifier

__all__ = ["DeployPoller"]

log = logging.getLogger("idp.dev.poller")


class DeployPoller:
    """`tracking.poll_once` in a daemon thread every `interval` seconds (the settings' by default)."""

    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        if not settings.argocd_url:
            raise RuntimeError("the deploy poller needs ARGOCD_URL")
        self.interval = interval if interval is not None else settings.deploy_poll_interval_seconds
        self._settings = settings
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._db: Database | None = None
        self._argocd: ArgoCdClient | None = None
        self._notifier: Notifier | None = None
        self.passes = 0  # finished passes, failed ones included
        self.failures = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        if self._thread is not None:
            return self
        settings = self._settings
        self._db = Database(settings.resolved_database_url(), schema=settings.database_schema)
        self._argocd = ArgoCdClient(
            str(settings.argocd_url), settings.resolved_argocd_token(), timeout=settings.argocd_timeout_seconds
        )
        self._notifier = notifier_from_settings(settings)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(self._db, self._argocd, self._notifier), name="deploy-poller", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops after the pass in progress (if any) and closes its connections."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout)
        if self._argocd is not None:
            self._argocd.close()
        if self._db is not None:
            self._db.close()
        self._db = self._argocd = self._notifier = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self, db: Database, argocd: ArgoCdClient, notifier: Notifier | None) -> None:
        while not self._stopping.is_set():
            try:
                tracking.poll_once(db, argocd, notifier)
            except Exception:
                self.failures += 1
                log.exception("deploy poller pass failed; retrying in %s s", self.interval)
            self.passes += 1
            self._stopping.wait(self.interval)
