"""One way to serve a WSGI app from a background thread (the gateway and every emulator)."""

from __future__ import annotations

import threading
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["BackgroundServer", "Served"]


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class BackgroundServer:
    """A threaded werkzeug server on host:port (port 0 picks a free one), started and stopped at will."""

    def __init__(self, app: Any, host: str, port: int, *, name: str, quiet: bool = True) -> None:
        self._app, self.host, self.port, self._name, self._quiet = app, host, port, name, quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> int:
        """Serves (once, however often called) and returns the port."""
        if self._server is None:
            handler = _QuietHandler if self._quiet else None
            self._server = make_server(self.host, self.port, self._app, threaded=True, request_handler=handler)
            self.port = self._server.server_port
            # A short poll interval keeps stop() quick.
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self._name, daemon=True
            )
            self._thread.start()
        return self.port

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


class Served:
    """start/stop/`with` for a class that serves through `self._server` (a BackgroundServer)."""

    host: str
    port: int
    _server: BackgroundServer

    def start(self) -> Self:
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
