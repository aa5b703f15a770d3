"""The single Logger, Tracer and Metrics of every function (service and namespace from the template)."""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

_metrics_lock = threading.Lock()


def count(name: str, value: float = 1) -> None:
    """Add to a count metric; callable from the send threads."""
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)
