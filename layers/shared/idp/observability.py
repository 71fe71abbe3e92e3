"""Powertools Logger and Metrics shared by every function, and a JSON log line for the authorizer.

No Tracer: X-Ray tracing is not wired into any function, and `Tracer()` alone would cost
200–450 ms of cold start (FACTS.md). `logger` (Powertools' Logger) is created when first asked
for, so importing this module costs nothing: the authorizer writes its one line per decision
with `JsonLog`, Powertools' shape at no import cost (Powertools' Logger would add a sixth to its
floor, README "Cold starts").
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    logger: Logger

__all__ = ["JsonLog", "api_handler", "logger", "metrics"]


def __getattr__(name: str) -> Any:
    if name == "logger":
        return _powertools_logger()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _powertools_logger() -> Logger:
    """Powertools' Logger, created on first use (then a plain module attribute)."""
    existing: Logger | None = globals().get("logger")
    if existing is None:
        from aws_lambda_powertools import Logger

        existing = globals()["logger"] = Logger(service=_service())
    return existing


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME", "idp")


_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


class JsonLog:
    """One JSON line on stdout per call, shaped as Powertools' Logger writes them (level, location,
    message, timestamp, service, then the fields); level from POWERTOOLS_LOG_LEVEL or LOG_LEVEL.

    Not the logging module (a few ms of imports the authorizer would pay for one line): each call
    writes to whatever sys.stdout is then (Lambda's; a test's capture)."""

    def __init__(self) -> None:
        level = (os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO").upper()
        self.level = _LEVELS.get(level, _LEVELS["INFO"])

    def info(self, message: str, **fields: Any) -> None:
        self._write("INFO", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._write("WARNING", message, fields)

    def _write(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < self.level:
            return
        import json

        caller = sys._getframe(2)
        now = time.time()
        entry: dict[str, Any] = {
            "level": level,
            "location": f"{caller.f_code.co_name}:{caller.f_lineno}",
            "message": message,
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f",{int(now * 1000) % 1000:03d}+0000",
            "service": _service(),
            **fields,
        }
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            entry["xray_trace_id"] = trace.split(";")[0].removeprefix("Root=")
        sys.stdout.write(json.dumps(entry, default=str) + "\n")


# Reads and most requests record no metric of their own; Powertools warns on each such flush.
warnings.filterwarnings("ignore", message="No application metrics to publish")

_metrics: Any = None


def metrics() -> Any:
    """The shared Metrics instance (EMF to stdout), created on first use."""
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "IDP"))
    return _metrics


def api_handler(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wraps an API Gateway handler: correlation id = API Gateway's request id, Lambda context in
    every log line, and the request's metrics (cold starts included) flushed as EMF at the end."""
    from aws_lambda_powertools.logging import correlation_paths

    with_metrics = metrics().log_metrics(handler, capture_cold_start_metric=True)
    inject = _powertools_logger().inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    return inject(with_metrics)
