"""``KubernetesEmulator``: the store and the WSGI app served over real HTTP in a daemon thread."""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

from idp_local.serving import BackgroundServer, Served

from .app import KubeApp
from .faults import Fault, FaultBook
from .store import Store

__all__ = ["KubernetesEmulator", "main"]


class KubernetesEmulator(Served):
    """A stateful, in-memory Kubernetes API server for tests and ``make dev``.

    Usage::

        emulator = KubernetesEmulator(token="secret").start()
        emulator.write_kubeconfig(tmp_path / "kubeconfig")  # for kubernetes.config.load_kube_config
        emulator.fail_next(method="POST", resource="resourcequotas", status=503)
        emulator.stop()
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.token = token
        self._store = Store()
        self._faults = FaultBook()
        self._app = KubeApp(self._store, self._faults, token)
        self._server = BackgroundServer(self._app, host, port, name="kubernetes-emulator")
        self._store.reset()

    # lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if not self._server.running:
            raise RuntimeError("the Kubernetes emulator is not started")
        return self.base_url

    # clients --------------------------------------------------------------------------------
    def write_kubeconfig(self, path: str | Path, *, namespace: str | None = None) -> Path:
        """Write a kubeconfig (JSON, which is YAML) for this emulator; readable by its owner only."""
        context: dict[str, Any] = {"cluster": "emulator", "user": "emulator"}
        if namespace:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {"token": self.token} if self.token else {}}],
            "contexts": [{"name": "emulator", "context": context}],
            "current-context": "emulator",
            "preferences": {},
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(config, handle, indent=2)
        return target

    # test controls --------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop all objects, CustomResourceDefinitions, issued tokens and faults."""
        self._app.reset()

    def fail_next(
        self,
        *,
        method: str | None = None,
        resource: str | None = None,
        status: int = 503,
        count: int = 1,
        message: str = "injected failure",
    ) -> None:
        """Make the next ``count`` requests matching ``method`` and plural ``resource`` answer ``status``."""
        self._faults.add(Fault(method=method, resource=resource, status=status, count=count, message=message))

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored objects of a plural resource (``"configmaps"`` or ``"plural.group"``)."""
        return self._store.objects(resource, namespace)


def main(argv: list[str] | None = None) -> None:
    """``python -m idp_local.emulators.kubernetes``: serve until interrupted (for other processes)."""
    parser = argparse.ArgumentParser(description="Run the in-memory Kubernetes API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (or a token it issued)")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for the emulator here")
    parser.add_argument("--namespace", help="the kubeconfig context's namespace")
    args = parser.parse_args(argv)
    emulator = KubernetesEmulator(args.host, args.port, args.token).start()
    if args.kubeconfig:
        emulator.write_kubeconfig(args.kubeconfig, namespace=args.namespace)
    print(emulator.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
