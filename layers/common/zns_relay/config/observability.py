"""The single Logger, Tracer and Metrics of every function (service and namespace from the template).

No secret reaches a log line, whatever the settings (POWERTOOLS_LOG_LEVEL=DEBUG, POWERTOOLS_DEV,
POWERTOOLS_LOGGER_LOG_EVENT, POWERTOOLS_DEBUG, Lambda's AWS_LAMBDA_LOG_LEVEL=DEBUG, which the runtime
gives its root logger): the handlers never log their events and the HTTP resolver never prints them
(its debug mode is off whatever POWERTOOLS_DEV says), the AWS SDK, urllib3, the X-Ray SDK and
Powertools' own internals never log below WARNING whatever the root level (botocore's DEBUG lines
carry GetSecretValue's answer, Powertools' the callback path, the X-Ray emitter's every document), and
every line any handler writes (ours, the root handler Lambda's runtime installs before it imports the
function, Python's last resort) is scrubbed of the secret values this environment has read and of
CallbackUrl signatures.

No secret and no message data reaches an X-Ray document: only the AWS SDK is patched (the X-Ray
SDK's requests and http.client patches record a failed call's exception text, and a requests error
repeats the whole URL, GetSendStatus's keys included); eSMS calls get subsegments of our own
(outbound_call: method, host, path, status, error class); handlers are traced without their response
or error (traced_handler); and every document is scrubbed as above before it is sent.
(aws-xray-sdk-python: ext/requests/patch.py records `add_exception` on a failed call, Throwable keeps
str(exception); core/emitters/udp_emitter.py logs "sending: <document>" at DEBUG. awslambdaric's
bootstrap._setup_logging gives the root logger its handler and AWS_LAMBDA_LOG_LEVEL.)
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import quote, quote_plus, urlsplit

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.emitters.udp_emitter import PROTOCOL_DELIMITER, PROTOCOL_HEADER, UDPEmitter

REDACTED = "***"
QUIET_LIBRARIES = ("boto3", "botocore", "urllib3", "s3transfer", "aws_lambda_powertools", "aws_xray_sdk")
TRACED_MODULES = ("botocore",)  # the X-Ray SDK's patches: the AWS SDK's calls only
# A CallbackUrl's path after the RequestId (its signature, and whatever else a version puts there),
# with its slashes plain, JSON-escaped or percent-encoded.
_SLASH = r"(?:/|\\/|%2[Ff])"
_CALLBACK_SIGNATURE = re.compile(
    rf"(callbacks{_SLASH}esms{_SLASH}[\w.:~%-]+?{_SLASH})(?:[\w.:~%-]|{_SLASH})+"
)
Handler = TypeVar("Handler", bound=Callable[..., Any])


class SecretValues:
    """The secret values read in this environment, to scrub from any text; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()

    def add(self, *values: str) -> None:
        """Remember values, with their JSON-escaped forms (as inside a log line or a trace document)
        and URL-encoded ones (as in a GET's query)."""
        forms = {
            form
            for value in values
            if len(value) >= 4
            for form in (value, json.dumps(value)[1:-1], quote_plus(value), quote(value, safe=""))
        }
        with self._lock:
            self._values = self._values | forms

    def scrub(self, text: str) -> str:
        """The text without any secret value, or any CallbackUrl's signature."""
        text = _CALLBACK_SIGNATURE.sub(rf"\1{REDACTED}", text)
        for value in sorted(self._values, key=len, reverse=True):  # longest first: no partial leftovers
            if value in text:
                text = text.replace(value, REDACTED)
        return text


secret_values = SecretValues()


class _ScrubbingFormatter(LambdaPowertoolsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return secret_values.scrub(super().format(record))


class ScrubbedFormatter(logging.Formatter):
    """Another handler's formatter, its every line scrubbed."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self._formatter = formatter or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return secret_values.scrub(self._formatter.format(record))


def _scrub_every_handler() -> None:
    """Scrub what every handler set up so far writes: the root logger's (Lambda's runtime installs its
    own before it imports the function), any other logger's, and Python's last resort."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {handler for each in loggers if isinstance(each, logging.Logger) for handler in each.handlers}
    for handler in handlers | ({logging.lastResort} if logging.lastResort else set()):
        if not isinstance(handler.formatter, _ScrubbingFormatter | ScrubbedFormatter):
            handler.setFormatter(ScrubbedFormatter(handler.formatter))


def without_exception_text(document: Any) -> Any:
    """A trace document whose recorded exceptions keep their type only: the X-Ray SDK records the text
    and stack of whatever escapes a subsegment (a handler's error included, whatever Powertools'
    capture_error says), and an error's text may quote a phone, a TempData value or a URL."""
    if isinstance(document, dict):
        cause = document.get("cause")
        if isinstance(cause, dict):
            cause["exceptions"] = [
                {key: value for key, value in exception.items() if key in ("id", "type", "remote")}
                for exception in cause.get("exceptions", [])
                if isinstance(exception, dict)
            ]
        for value in document.values():
            without_exception_text(value)
    elif isinstance(document, list):
        for value in document:
            without_exception_text(value)
    return document


class ScrubbingEmitter(UDPEmitter):  # type: ignore[misc]
    """The X-Ray SDK's UDP emitter, sending each document without exception text and scrubbed, and
    logging none (its DEBUG line is the whole document)."""

    def send_entity(self, entity: Any) -> None:
        try:
            document = json.dumps(without_exception_text(json.loads(entity.serialize())))
            self._send_data(f"{PROTOCOL_HEADER}{PROTOCOL_DELIMITER}{secret_values.scrub(document)}")
        except Exception:  # as the SDK's own: a trace is never worth a failed invocation
            logging.getLogger(__name__).warning("a trace document could not be sent to the X-Ray daemon")


for _library in QUIET_LIBRARIES:
    logging.getLogger(_library).setLevel(logging.WARNING)

logger = Logger(logger_formatter=_ScrubbingFormatter())
_scrub_every_handler()
tracer = Tracer(patch_modules=TRACED_MODULES)
xray_recorder.configure(emitter=ScrubbingEmitter())
metrics = Metrics()


def traced_handler(handler: Handler) -> Handler:
    """A Lambda handler in its X-Ray subsegment, without its response or error as metadata (a status
    answer holds phones and history; an error, what it was about), whatever POWERTOOLS_TRACER_CAPTURE_*
    say."""
    return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False))


@dataclass
class OutboundCall:
    status: int | None = None  # the HTTP status, once answered


@contextmanager
def outbound_call(method: str, url: str) -> Iterator[OutboundCall]:
    """An X-Ray subsegment for one HTTP call, recording its method, host, path, status and error class
    only: never its query (a GET to eSMS carries the keys there), its body, or an error's text."""
    parts = urlsplit(url)
    host = parts.hostname or "unknown"
    call = OutboundCall()
    subsegment = xray_recorder.begin_subsegment(host, "remote")
    error: str | None = None
    try:
        yield call
    except BaseException as raised:
        error = type(raised).__name__
        raise
    finally:
        if subsegment is not None:
            port = f":{parts.port}" if parts.port else ""
            subsegment.put_http_meta("method", method)
            subsegment.put_http_meta("url", f"{parts.scheme}://{host}{port}{parts.path}")
            subsegment.put_http_meta("status", call.status)
            if error is not None:
                subsegment.add_fault_flag()
                subsegment.put_annotation("error", error)
            xray_recorder.end_subsegment()


_metrics_lock = threading.Lock()


def count(name: str, value: float = 1) -> None:
    """Add to a count metric; callable from the send threads."""
    measure(name, MetricUnit.Count, value)


def milliseconds(name: str, value: float) -> None:
    measure(name, MetricUnit.Milliseconds, value)


def measure(name: str, unit: str | MetricUnit, value: float, **dimensions: str) -> None:
    """A metric in a CloudWatch unit ("Count", "Percent", ...). Without dimensions it joins the
    handler's metrics (dimension service); with them it is printed at once as a metric set of its own
    (service and these), since the handler's set has one set of dimensions for all its metrics."""
    with _metrics_lock:
        if not dimensions:
            metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)
            return
        with single_metric(name=name, unit=MetricUnit(unit), value=value) as metric:
            for dimension, dimension_value in dimensions.items():
                metric.add_dimension(name=dimension, value=dimension_value)
