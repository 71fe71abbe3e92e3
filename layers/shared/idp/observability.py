"""Powertools Logger and Metrics shared by every function.

Tracer is created only when enabled: importing it costs 200–450 ms of cold start.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

__all__ = ["logger", "metrics", "tracer"]

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "idp"))

_metrics: Any = None
_tracer: Any = None


def metrics() -> Any:
    """The shared Metrics instance (EMF to stdout), created on first use."""
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "IDP"))
    return _metrics


def tracer() -> Any:
    """A Tracer when ENABLE_TRACER is true, else None (so callers skip tracing cheaply)."""
    global _tracer
    if _tracer is None and os.environ.get("ENABLE_TRACER", "false").lower() == "true":
        from aws_lambda_powertools import Tracer

        _tracer = Tracer()
    return _tracer
