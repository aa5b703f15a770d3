"""Make moto's DynamoDB apply each request atomically, as DynamoDB itself does.

DynamoDB evaluates a ConditionExpression and applies the write as one atomic step; moto checks
and writes without a lock, so two concurrent claims of one RequestId could both win inside moto
even though they never could on AWS. The idempotency tests and the local stack depend on the
real semantics, so DynamoDB requests are serialised here (in-process mocks and server mode).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber

_DYNAMODB_TARGET = "DynamoDB_"
_lock = threading.RLock()

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _is_dynamodb(target: str | bytes | None) -> bool:
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    return bool(target) and str(target).startswith(_DYNAMODB_TARGET)


@contextmanager
def atomic_dynamodb_in_process() -> Iterator[None]:
    """For `mock_aws()`: run each mocked DynamoDB request under one lock."""
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if _is_dynamodb(request.headers.get("X-Amz-Target")):
            with _lock:
                return original(self, request)
        return original(self, request)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


def atomic_dynamodb_wsgi(app: WsgiApp) -> WsgiApp:
    """For moto's server: a WSGI middleware that runs each DynamoDB request under one lock."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _is_dynamodb(environ.get("HTTP_X_AMZ_TARGET")):
            with _lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    return middleware
