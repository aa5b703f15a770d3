"""What the eSMS simulator's tests share: a loopback callback target, a still clock, valid bodies, and
the check that an answer has the keys and JSON types of eSMS's documented sample."""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests

from local.esms_sim import (
    DEFAULT_TEMPLATES,
    LOCAL_API_KEY,
    LOCAL_SECRET_KEY,
    EsmsSimulator,
    SimulatorConfig,
    TemplateParam,
    ZnsTemplate,
)

OA_ID = "1397492183140006179"
SIGNATURE = "s1gn4ture"
NO_FAULTS = {"drop_rate": 0.0, "timeout_rate": 0.0, "error_rate_5xx": 0.0}
# Template 777: a required parameter of each type and an optional one that may be empty (for 790).
STRICT_TEMPLATE = ZnsTemplate(
    "Xác nhận đơn hàng",
    (
        TemplateParam("name", max_length=10),
        TemplateParam("code", "NUMBER", min_length=2, max_length=6),
        TemplateParam("day", "DATE", max_length=10),
        TemplateParam("note", require=False, accept_null=True),
    ),
)
FAST = SimulatorConfig(
    callback_delay_seconds=0.01,
    callback_gap_seconds=0.01,
    templates={**DEFAULT_TEMPLATES, "777": STRICT_TEMPLATE},
)


class FakeClock:
    """The simulator's clock in tests (seconds since the epoch): still until advanced."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CallbackReceiver:
    """A loopback callback target recording every GET; answers `status` after `delay_seconds`, and while
    `answering` is clear, only once it is set again."""

    def __init__(self) -> None:
        self.status = 200
        self.delay_seconds = 0.0
        self.answering = threading.Event()
        self.answering.set()
        self._targets: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with receiver._lock:
                    receiver._targets.append(self.path)
                receiver.answering.wait()
                time.sleep(receiver.delay_seconds)
                with suppress(ConnectionError):  # the simulator gave up (a callback timeout test)
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    def url(self, request_id: str = "req-1") -> str:
        """The CallbackUrl shape the relay gives eSMS: `<base>/<RequestId>/<signature>`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/callbacks/esms/{request_id}/{SIGNATURE}"

    def paths(self) -> list[str]:
        with self._lock:
            return [target.partition("?")[0] for target in self._targets]

    def raw_queries(self) -> list[str]:
        with self._lock:
            return [target.partition("?")[2] for target in self._targets]

    def queries(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(query, keep_blank_values=True)) for query in self.raw_queries()]

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.answering.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def send_body(**changes: Any) -> dict[str, Any]:
    """A valid V5 body as the seed shows it; a change to None removes that field."""
    body: dict[str, Any] = {
        "ApiKey": LOCAL_API_KEY,
        "SecretKey": LOCAL_SECRET_KEY,
        "OAID": OA_ID,
        "Phone": "0901888484",
        "TempData": [{"key": "customer_name", "value": "An"}],
        "SendDate": "",
        "TempID": "2056446",
        "campaignid": "",
        "Sandbox": "0",
        "CallbackUrl": "",
        "RequestId": "req-1",
        "SendingMode": "1",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def post(
    http: requests.Session, sim: EsmsSimulator, body: dict[str, Any], timeout: float = 5.0
) -> requests.Response:
    return http.post(f"{sim.url}/SendZaloMessage_V5_post/", json=body, timeout=timeout)


def assert_documented_shape(actual: Any, sample: Any, where: str = "answer") -> None:
    """Same keys and JSON types as eSMS's sample, all the way down (list items against its first item)."""
    assert type(actual) is type(sample), (
        f"{where}: {type(actual).__name__} where eSMS has {type(sample).__name__}"
    )
    if isinstance(sample, dict):
        assert set(actual) == set(sample), f"{where}: keys {sorted(actual)} where eSMS has {sorted(sample)}"
        for key, value in sample.items():
            assert_documented_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(sample, list) and sample:
        for index, item in enumerate(actual):
            assert_documented_shape(item, sample[0], f"{where}[{index}]")


CREDENTIALS = {"ApiKey": LOCAL_API_KEY, "SecretKey": LOCAL_SECRET_KEY}
SMS_CONTENT = "2803 la ma xac minh dang ky Baotrixemay cua ban"  # eSMS's test content, CODE filled in


def sms_body(**changes: Any) -> dict[str, Any]:
    """A valid SendMultipleMessage_V4_post_json body as eSMS's SMS page shows it; None removes a field."""
    body: dict[str, Any] = {
        **CREDENTIALS,
        "Content": SMS_CONTENT,
        "Phone": "0961234567",
        "Brandname": "Baotrixemay",
        "SmsType": "2",
        "IsUnicode": "0",
        "campaignid": "",
        "RequestId": "sms-1",
        "CallbackUrl": "",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def post_sms(http: requests.Session, sim: EsmsSimulator, body: dict[str, Any]) -> requests.Response:
    return http.post(f"{sim.url}/SendMultipleMessage_V4_post_json/", json=body, timeout=5.0)


def get_callback(
    http: requests.Session, sim: EsmsSimulator, sms_ids: list[str], **changes: Any
) -> dict[str, Any]:
    body = {**CREDENTIALS, "ListRefid": sms_ids, "OAId": OA_ID, **changes}
    answer: dict[str, Any] = http.post(
        f"{sim.status_url}/ZaloCallback/GetCallback", json=body, timeout=5
    ).json()
    return answer


def query_status(http: requests.Session, sim: EsmsSimulator, sms_id: str, **changes: Any) -> dict[str, Any]:
    body = {**CREDENTIALS, "SmsId": sms_id, "SmsType": "25", **changes}
    answer: dict[str, Any] = http.post(f"{sim.url}/QueryZnsStatus/", json=body, timeout=5).json()
    return answer
