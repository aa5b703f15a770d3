"""Callback throughput: eSMS's delivery callbacks through the local HTTP API into CallbackFunction's
execution environments (as many as the local stack gives an HTTP route), DynamoDB on the moto server.

Messages wait in ACCEPTED (written by the store, as the sender leaves them); CLIENTS threads then call
back as eSMS does, a SendStatus 7 and a SendStatus 5 report for each message, each on a connection of
its own. The same route served by the hand-written baseline (one conditional UpdateItem per callback)
is measured the same way, just before.
"""

from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.backends import Backends
from bench.functions import function_spec
from local.aws import LOCAL_CALLBACK_KEY
from local.http_api import HttpApiServer, Route
from local.lambda_runtime import ExecutionEnvironments
from local.stack import HTTP_ENVIRONMENTS
from zns_relay.callback_signing import sign
from zns_relay.models.state import MessageStatus
from zns_relay.store.messages import ClaimedMessage, MessageStore

MESSAGES = 200  # 400 callbacks per function
CLIENTS = 8
ROUTE_PATH = "/callbacks/esms/{request_id}/{signature}"


@dataclass(frozen=True)
class Throughput:
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def accepted_messages(backends: Backends, count: int) -> list[tuple[str, str, str]]:
    """`count` messages the sender has just had accepted: (RequestId, SMSID, callback nonce)."""
    store = MessageStore(backends.table, backends.client("dynamodb"))
    now = int(time.time())
    messages = []
    for _ in range(count):
        request_id, sms_id = f"callback-{uuid.uuid4().hex}", uuid.uuid4().hex
        claim = store.claim(
            request_id, {"phone": "0901888484", "temp_id": "2056446"}, 60, check_at=now + 3600
        )
        assert isinstance(claim, ClaimedMessage)
        store.transition(
            request_id,
            MessageStatus.ACCEPTED,
            "accepted by eSMS",
            {"sms_id": sms_id, "esms_code": "100"},
            claim=claim,
            check_at=now + 1800,
        )
        messages.append((request_id, sms_id, claim.callback_nonce))
    return messages


@contextmanager
def serving(backends: Backends, function: str) -> Iterator[int]:
    """The template's callback route on a local HTTP API, served by `function`; yields its port."""
    environments = ExecutionEnvironments(
        function_spec(function, backends.template),
        backends.environment(function),
        HTTP_ENVIRONMENTS,
        output=Path(os.devnull),
    )
    api = HttpApiServer()
    api.routes.append(Route("GET", ROUTE_PATH, environments))
    try:
        starting = [threading.Thread(target=environments.warm_up) for _ in range(HTTP_ENVIRONMENTS)]
        for thread in starting:  # every environment cold-started before the clock starts
            thread.start()
        for thread in starting:
            thread.join()
        api.start()
        yield api.port
    finally:
        api.stop()
        environments.close()


def _call(port: int, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Connection": "close", "User-Agent": "eSMS-Callback/1.0"})
        status = connection.getresponse().status
    finally:
        connection.close()
    return time.perf_counter() - started, status


def measure_one(backends: Backends, function: str, messages: int = MESSAGES) -> Throughput:
    key = LOCAL_CALLBACK_KEY.encode()
    paths = []
    for request_id, sms_id, nonce in accepted_messages(backends, messages):
        for status in (7, 5):
            query = urlencode(
                {"SMSID": sms_id, "SendStatus": status, "SendSuccess": int(status == 5), "TypeId": 25}
            )
            paths.append(f"/callbacks/esms/{request_id}/{sign(key, request_id, nonce)}?{query}")
    with serving(backends, function) as port:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as clients:
            answers = list(clients.map(lambda path: _call(port, path), paths))
        elapsed = time.perf_counter() - started
    latencies = sorted(seconds * 1000 for seconds, _ in answers)
    cuts = statistics.quantiles(latencies, n=100)
    return Throughput(
        per_second=len(answers) / elapsed,
        p50_ms=cuts[49],
        p99_ms=cuts[98],
        errors=sum(1 for _, status in answers if status != 200),
    )


def measure(backends: Backends) -> dict[str, Throughput]:
    return {
        "baseline": measure_one(backends, "MinimalCallback"),
        "callback": measure_one(backends, "CallbackFunction"),
    }
