"""The single Logger, Tracer and Metrics of every function (service and namespace from the template).

No secret reaches a log line, whatever the settings (POWERTOOLS_LOG_LEVEL=DEBUG, POWERTOOLS_DEV,
POWERTOOLS_LOGGER_LOG_EVENT, POWERTOOLS_DEBUG): the handlers never log their events and the HTTP
resolver never prints them (its debug mode is off whatever POWERTOOLS_DEV says), the AWS SDK, urllib3
and Powertools' own internals never log below WARNING (botocore's DEBUG lines carry GetSecretValue's
answer, Powertools' the callback path), and every line the logger writes is scrubbed of the secret
values this environment has read.
"""

from __future__ import annotations

import json
import logging
import threading

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

REDACTED = "***"
QUIET_LIBRARIES = ("boto3", "botocore", "urllib3", "s3transfer", "aws_lambda_powertools")


class SecretValues:
    """The secret values read in this environment, to scrub from any text; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()

    def add(self, *values: str) -> None:
        """Remember values (and their JSON-escaped forms, as they would appear inside a log line)."""
        forms = {form for value in values if len(value) >= 4 for form in (value, json.dumps(value)[1:-1])}
        with self._lock:
            self._values = self._values | forms

    def scrub(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):  # longest first: no partial leftovers
            if value in text:
                text = text.replace(value, REDACTED)
        return text


secret_values = SecretValues()


class _ScrubbingFormatter(LambdaPowertoolsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return secret_values.scrub(super().format(record))


for _library in QUIET_LIBRARIES:
    logging.getLogger(_library).setLevel(logging.WARNING)

logger = Logger(logger_formatter=_ScrubbingFormatter())
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
