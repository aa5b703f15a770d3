"""The eSMS simulator answers and calls back as eSMS documents it; its faults behave as configured."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from local.esms_simulator import (
    LOCAL_API_KEY,
    LOCAL_SECRET_KEY,
    REDACTED,
    EsmsSimulator,
    SimulatorConfig,
)
from zns_relay.models.callback import CALLBACK_PARAMETERS

OA_ID = "1397492183140006179"
CALLBACK_TOKEN = "t0k3n"
# eSMS's published failed-delivery sample (esms-api-facts.md section 3).
SAMPLE_SMS_ID = "f66545d2-c7e2-4603-984e-d2238c363c8292"
SAMPLE_QUERY = (
    f"SMSID={SAMPLE_SMS_ID}&SendFailed=1&SendStatus=5&SendSuccess=0&TotalPrice=0.0000"
    "&TotalReceiver=1&TotalSent=0&RequestId=&TypeId=25&telcoid=2&phonenumber=0901888484&partnerids="
    "&error_info=%22{%5C%22error%5C%22%3A-114%2C%5C%22message%5C%22%3A%5C%22User%20is%20inactive%2C"
    "%20or%20reject%20the%20message%2C%20or%20using%20an%20outdated%20Zalo%20version%2C%20or%20other"
    "%20internal%20errors%5C%22}%22&oaid=1397492183140006179&tempid=2056446"
)
FAST = SimulatorConfig(callback_delay_seconds=0.01, callback_gap_seconds=0.01)
NO_FAULTS = {"drop_rate": 0.0, "timeout_rate": 0.0, "error_rate_5xx": 0.0, "throttle_rate": 0.0}


class CallbackReceiver:
    """A loopback CallbackUrl target recording every GET's path; answers `status` after `delay_seconds`."""

    def __init__(self) -> None:
        self.status = 200
        self.delay_seconds = 0.0
        self._paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with receiver._lock:
                    receiver._paths.append(self.path)
                time.sleep(receiver.delay_seconds)
                with suppress(ConnectionError):  # the simulator gave up (a callback timeout test)
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/callbacks/esms?token={CALLBACK_TOKEN}"

    def raw_queries(self) -> list[str]:
        """Each callback's query string without the receiver's own token parameter."""
        with self._lock:
            paths = list(self._paths)
        prefix = f"/callbacks/esms?token={CALLBACK_TOKEN}&"
        assert all(path.startswith(prefix) for path in paths)
        return [path.removeprefix(prefix) for path in paths]

    def queries(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(query, keep_blank_values=True)) for query in self.raw_queries()]

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as target:
        yield target


@pytest.fixture
def sim() -> Iterator[EsmsSimulator]:
    templates = {"2056446": set[str](), "12345": set[str](), "777": {"name", "code"}}
    with EsmsSimulator(config=FAST, templates=templates) as simulator:
        yield simulator


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only, whatever proxy the environment names
        yield session


def send_body(**changes: Any) -> dict[str, Any]:
    """A valid V5 body as the seed shows it; a change to None removes that field."""
    body: dict[str, Any] = {
        "ApiKey": LOCAL_API_KEY,
        "SecretKey": LOCAL_SECRET_KEY,
        "OAID": OA_ID,
        "Phone": "0901888484",
        "TempData": [{"key": "name", "value": "An"}],
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


def test_accepted_send_answers_100_and_calls_back_with_esms_fields(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    response = post(http, sim, send_body(Phone="84961234567", CallbackUrl=receiver.url))

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"CodeResult", "CountRegenerate", "SMSID"}
    assert answer["CodeResult"] == "100"
    assert answer["CountRegenerate"] == 0
    assert len(answer["SMSID"]) == 35
    assert sim.wait_for_callbacks_idle(2.0)
    [callback] = receiver.queries()
    assert tuple(callback) == CALLBACK_PARAMETERS
    assert callback["partnerids"]
    assert callback | {"partnerids": ""} == {
        "SMSID": answer["SMSID"],
        "SendFailed": "0",
        "SendStatus": "5",
        "SendSuccess": "1",
        "TotalPrice": "300.0000",
        "TotalReceiver": "1",
        "TotalSent": "1",
        "RequestId": "",
        "TypeId": "25",
        "telcoid": "1",
        "phonenumber": "0961234567",
        "partnerids": "",
        "error_info": "",
        "oaid": OA_ID,
        "tempid": "2056446",
    }
    [delivery] = sim.callbacks()
    assert (delivery["http_status"], delivery["attempt"], delivery["error"]) == (200, 1, None)
    assert sim.accepted_count_by_request_id() == {"req-1": 1}


def test_failed_delivery_callback_matches_the_published_sample_byte_for_byte(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(phone_outcomes={"84901888484": "failed_114"})

    answer = post(http, sim, send_body(CallbackUrl=receiver.url)).json()

    assert sim.wait_for_callbacks_idle(2.0)
    assert receiver.raw_queries() == [SAMPLE_QUERY.replace(SAMPLE_SMS_ID, answer["SMSID"])]


def test_suffix_outcomes_choose_the_failure_and_lost_messages_never_call_back(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(suffix_outcomes={"18": "failed_118", "0018": "lost"})

    post(http, sim, send_body(Phone="0912345618", RequestId="a", CallbackUrl=receiver.url))
    post(http, sim, send_body(Phone="0912340018", RequestId="b", CallbackUrl=receiver.url))

    assert sim.wait_for_callbacks_idle(2.0)
    [callback] = receiver.queries()
    assert (callback["SendStatus"], callback["SendSuccess"], callback["SendFailed"]) == ("5", "0", "1")
    assert json.loads(json.loads(callback["error_info"]))["error"] == -118
    assert [record["outcome"] for record in sim.requests()] == ["failed_118", "lost"]
    assert sim.accepted_count_by_request_id() == {"a": 1, "b": 1}


@pytest.mark.parametrize(
    ("code", "changes"),
    [
        ("101", {"SecretKey": "wrong-secret"}),
        ("101", {"ApiKey": "wrong-key"}),
        ("789", {"TempID": "999"}),
        ("790", {"TempID": "777"}),
        ("108", {"Phone": "0123456789"}),
        ("108", {"Phone": "+84901888484"}),
        ("801", {"SendingMode": "3", "SendDate": "2030-01-01 08:00:00"}),
        ("791", {"OAID": None}),
        ("791", {"TempID": ""}),
        ("210", {"Phone": None}),
        ("210", {"TempData": []}),
        ("210", {"SendDate": "tomorrow"}),
        ("210", {"RequestId": "x" * 51}),
    ],
)
def test_invalid_sends_are_refused_with_esms_codes(
    code: str,
    changes: dict[str, Any],
    sim: EsmsSimulator,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    response = post(http, sim, send_body(CallbackUrl=receiver.url, **changes))

    assert response.status_code == 200
    answer = response.json()
    assert answer["CodeResult"] == code
    assert answer["ErrorMessage"]
    assert "SMSID" not in answer
    assert sim.wait_for_callbacks_idle(2.0)
    assert receiver.raw_queries() == []
    assert sim.accepted_count_by_request_id() == {}


def test_template_keys_are_checked_for_either_tempdata_form(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    as_object = send_body(TempID="777", RequestId="a", TempData={"name": "An", "code": "42"})
    as_list = send_body(
        TempID="777", RequestId="b", TempData=[{"key": "code", "value": "42"}, {"key": "name", "value": "An"}]
    )
    extra_key = send_body(TempID="777", RequestId="c", TempData={"name": "An", "code": "42", "x": "1"})

    codes = [post(http, sim, body).json()["CodeResult"] for body in (as_object, as_list, extra_key)]

    assert codes == ["100", "100", "790"]


def test_request_id_is_refused_with_124_for_24_hours(sim: EsmsSimulator, http: requests.Session) -> None:
    first = post(http, sim, send_body()).json()
    second = post(http, sim, send_body(Phone="0987654321")).json()
    sim.advance_clock(24 * 3600 + 1)
    third = post(http, sim, send_body()).json()

    assert first["CodeResult"] == "100"
    assert second == {"CodeResult": "124", "CountRegenerate": 0, "ErrorMessage": "RequestId is duplicate"}
    assert third["CodeResult"] == "100"
    assert third["SMSID"] != first["SMSID"]
    assert sim.accepted_count_by_request_id() == {"req-1": 2}


def test_concurrent_sends_of_one_request_id_are_accepted_once(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: post(http, sim, send_body()).json()["CodeResult"], range(16)))

    assert sorted(codes) == ["100"] + ["124"] * 15
    assert sim.accepted_count_by_request_id() == {"req-1": 1}


def test_sandbox_validates_only(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sandbox = post(http, sim, send_body(Sandbox="1", CallbackUrl=receiver.url)).json()
    refused = post(http, sim, send_body(Sandbox="1", Phone="0123")).json()

    assert sandbox["CodeResult"] == "100"
    assert sandbox["SMSID"]
    assert refused["CodeResult"] == "108"
    assert sim.wait_for_callbacks_idle(2.0)
    assert receiver.raw_queries() == []
    assert sim.accepted_count_by_request_id() == {}
    assert post(http, sim, send_body()).json()["CodeResult"] == "100"  # the RequestId was not kept


FAULTS: dict[str, dict[str, float]] = {
    "drop": {"drop_rate": 1.0},
    "timeout": {"timeout_rate": 1.0, "timeout_sleep_seconds": 0.5},
    "5xx": {"error_rate_5xx": 1.0},
    "throttle": {"throttle_rate": 1.0},
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_are_never_acceptances(
    fault: str, sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(**FAULTS[fault])
    body = send_body(CallbackUrl=receiver.url)

    if fault == "drop":
        with pytest.raises(requests.ConnectionError):
            post(http, sim, body)
    elif fault == "timeout":
        with pytest.raises(requests.ReadTimeout):
            post(http, sim, body, timeout=0.1)
    else:
        response = post(http, sim, body)
        if fault == "5xx":
            assert response.status_code in {500, 503}
            assert response.headers["Content-Type"].startswith("text/html")
        else:
            assert response.json() == {
                "CodeResult": "160",
                "CountRegenerate": 0,
                "ErrorMessage": "TPS limit exceeded",
            }

    assert sim.requests()[0]["fault"] == fault
    assert sim.accepted_count_by_request_id() == {}
    sim.configure(**NO_FAULTS)
    assert post(http, sim, body).json()["CodeResult"] == "100"  # the RequestId was not kept
    assert sim.wait_for_callbacks_idle(2.0)
    assert len(receiver.raw_queries()) == 1


def test_fault_and_outcome_draws_are_seeded(sim: EsmsSimulator, http: requests.Session) -> None:
    sim.configure(seed=7, throttle_rate=0.3, outcomes={"delivered": 0.5, "failed_114": 0.5})

    def run() -> list[tuple[str | None, str | None]]:
        sim.reset()  # also reseeds
        for number in range(30):
            post(http, sim, send_body(RequestId=f"r{number}"))
        return [(record["fault"], record["outcome"]) for record in sim.requests()]

    first, second = run(), run()

    assert first == second
    assert 3 <= sum(fault == "throttle" for fault, _ in first) <= 15
    assert {outcome for _, outcome in first} == {None, "delivered", "failed_114"}


def test_latency_is_added_to_every_answer(sim: EsmsSimulator, http: requests.Session) -> None:
    sim.configure(latency_ms=(100, 120))

    started = time.monotonic()
    post(http, sim, send_body())

    assert time.monotonic() - started >= 0.1


@pytest.mark.parametrize(
    ("changes", "statuses"),
    [
        ({"sent_first": 1.0}, [7, 5]),
        ({"sent_first": 1.0, "reorder": 1.0}, [5, 7]),
        ({"duplicate_callbacks": 1.0}, [5, 5]),
    ],
)
def test_callback_quirks(
    changes: dict[str, float],
    statuses: list[int],
    sim: EsmsSimulator,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    sim.configure(**changes)

    answer = post(http, sim, send_body(CallbackUrl=receiver.url)).json()

    assert sim.wait_for_callbacks_idle(2.0)
    queries = receiver.queries()
    assert [int(query["SendStatus"]) for query in queries] == statuses
    assert {query["SMSID"] for query in queries} == {answer["SMSID"]}
    sent = next(query for query in queries if query["SendStatus"] == "7") if 7 in statuses else None
    if sent is not None:
        assert (sent["SendSuccess"], sent["SendFailed"]) == ("0", "0")
    assert [record["duplicate"] for record in sim.callbacks()] == [
        False,
        changes == {"duplicate_callbacks": 1.0},
    ]


def test_early_callbacks_arrive_before_the_answer(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(early_callbacks=1.0, callback_delay_seconds=1.0)

    answer = post(http, sim, send_body(CallbackUrl=receiver.url)).json()

    assert [query["SMSID"] for query in receiver.queries()] == [answer["SMSID"]]


def test_callbacks_are_retried_on_timeout_only(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(callback_timeout_seconds=0.1, callback_retries=2, callback_retry_delay_seconds=0.01)
    receiver.delay_seconds = 0.3
    post(http, sim, send_body(RequestId="slow", CallbackUrl=receiver.url))
    assert sim.wait_for_callbacks_idle(3.0)
    receiver.delay_seconds = 0.0
    receiver.status = 500
    post(http, sim, send_body(RequestId="failing", CallbackUrl=receiver.url))
    assert sim.wait_for_callbacks_idle(2.0)

    attempts = [(r["request_id"], r["attempt"], r["error"], r["http_status"]) for r in sim.callbacks()]

    assert attempts == [
        ("slow", 1, "timeout", None),
        ("slow", 2, "timeout", None),
        ("slow", 3, "timeout", None),
        ("failing", 1, None, 500),
    ]


def test_control_endpoints_and_redaction(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    updated = http.post(
        f"{sim.control_url}/config", json={"latency_ms": [1, 2], "outcomes": {"failed_118": 1}}
    )
    unknown = http.post(f"{sim.control_url}/config", json={"latency_ms": 1, "no_such_knob": 1})
    invalid = http.post(f"{sim.control_url}/config", json={"drop_rate": 2})
    not_an_object = http.post(f"{sim.control_url}/config", json=[1])
    post(http, sim, send_body(CallbackUrl=receiver.url))
    post(http, sim, send_body(ApiKey="leaked-wrong-key", SecretKey="leaked-wrong-secret"))
    assert sim.wait_for_callbacks_idle(2.0)

    assert updated.status_code == 200
    assert updated.json()["latency_ms"] == [1.0, 2.0]
    assert http.get(f"{sim.control_url}/config").json() == updated.json()
    assert sim.config.latency_ms == (1.0, 2.0)
    assert (unknown.status_code, invalid.status_code, not_an_object.status_code) == (400, 400, 400)
    assert "no_such_knob" in unknown.json()["error"]
    listed = http.get(f"{sim.control_url}/requests")
    for secret in (LOCAL_API_KEY, LOCAL_SECRET_KEY, "leaked-wrong-key", "leaked-wrong-secret"):
        assert secret not in listed.text
        assert secret not in json.dumps(sim.requests())
    records = listed.json()
    assert [record["code_result"] for record in records] == ["100", "101"]
    assert {record["body"]["ApiKey"] for record in records} == {REDACTED}
    assert {record["body"]["SecretKey"] for record in records} == {REDACTED}
    assert records[0]["sms_id"] and records[0]["received_at"] and records[0]["answered_at"]
    [callback] = http.get(f"{sim.control_url}/callbacks").json()
    assert (callback["outcome"], callback["http_status"]) == ("failed_118", 200)
    assert http.post(f"{sim.control_url}/reset").status_code == 200
    assert http.get(f"{sim.control_url}/requests").json() == []
    assert http.get(f"{sim.control_url}/callbacks").json() == []
    assert post(http, sim, send_body()).json()["CodeResult"] == "100"  # RequestIds forgotten too


def test_stop_leaves_no_thread_behind(http: requests.Session, receiver: CallbackReceiver) -> None:
    with EsmsSimulator(config=SimulatorConfig(callback_delay_seconds=5.0)) as simulator:
        assert post(http, simulator, send_body(CallbackUrl=receiver.url)).json()["CodeResult"] == "100"

    assert not [thread for thread in threading.enumerate() if thread.name.startswith("esms-sim")]
    assert simulator.wait_for_callbacks_idle(0.0)
    assert receiver.raw_queries() == []
