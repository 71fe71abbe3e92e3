"""Powertools Logger and Metrics shared by every function.

No Tracer: X-Ray tracing is not wired into any function, and `Tracer()` alone would cost
200–450 ms of cold start (FACTS.md).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

__all__ = ["api_handler", "logger", "metrics"]

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "idp"))

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
    return logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)(with_metrics)
