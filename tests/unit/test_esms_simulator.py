"""The eSMS simulator's ZNS send endpoint answers and calls back as eSMS documents it; its faults behave
as configured; its control endpoints configure it and its logs redact every secret."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from local.esms_sim import (
    LOCAL_API_KEY,
    LOCAL_SECRET_KEY,
    REDACTED,
    ZNS_CALLBACK_PARAMETERS,
    EsmsSimulator,
    SimulatorConfig,
)
from tests.support import esms_documented as documented
from tests.support.esms_simulator_kit import (
    NO_FAULTS,
    OA_ID,
    SIGNATURE,
    CallbackReceiver,
    FakeClock,
    assert_documented_shape,
    post,
    send_body,
)
from tests.support.waiting import wait_for


def test_accepted_send_answers_100_and_calls_back_with_esms_fields(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a valid send with a CallbackUrl
    # When it is posted
    response = post(http, sim, send_body(Phone="84961234567", CallbackUrl=receiver.url()))

    # Then eSMS's documented 100 answer comes back, and one callback with the documented parameters
    assert response.status_code == 200
    answer = response.json()
    assert_documented_shape(answer, documented.SEND_ACCEPTED)
    assert answer["CodeResult"] == "100"
    assert answer["CountRegenerate"] == 0
    assert len(answer["SMSID"]) == 35
    assert sim.wait_for_callbacks_idle(30)
    [callback] = receiver.queries()
    assert tuple(callback) == tuple(dict(parse_qsl(documented.ZNS_CALLBACK, keep_blank_values=True)))
    assert tuple(callback) == ZNS_CALLBACK_PARAMETERS
    assert len(callback["partnerids"]) == 20
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
    # And the URL called is exactly the one given
    assert receiver.paths() == [f"/callbacks/esms/req-1/{SIGNATURE}"]
    [delivery] = sim.callbacks()
    assert (delivery["http_status"], delivery["attempt"], delivery["error"], delivery["lost"]) == (
        200,
        1,
        None,
        False,
    )
    assert sim.accepted_count_by_request_id() == {"req-1": 1}


def test_failed_delivery_callback_matches_the_published_sample_byte_for_byte(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(phone_outcomes={"84901888484": "failed_114"})

    answer = post(http, sim, send_body(CallbackUrl=receiver.url())).json()

    assert sim.wait_for_callbacks_idle(30)
    sample_sms_id = dict(parse_qsl(documented.ZNS_CALLBACK))["SMSID"]
    assert receiver.raw_queries() == [documented.ZNS_CALLBACK.replace(sample_sms_id, answer["SMSID"])]


def test_suffix_outcomes_choose_the_failure_and_no_report_messages_never_call_back(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a failing suffix and a longer one whose messages never get a report
    sim.configure(suffix_outcomes={"18": "failed_118", "0018": "no_report"})

    # When a message goes to each
    post(http, sim, send_body(Phone="0912345618", RequestId="a", CallbackUrl=receiver.url("a")))
    post(http, sim, send_body(Phone="0912340018", RequestId="b", CallbackUrl=receiver.url("b")))

    # Then only the failure calls back, with Zalo's error; both were accepted
    assert sim.wait_for_callbacks_idle(30)
    [callback] = receiver.queries()
    assert (callback["SendStatus"], callback["SendSuccess"], callback["SendFailed"]) == ("5", "0", "1")
    assert json.loads(json.loads(callback["error_info"]))["error"] == -118
    assert [record["outcome"] for record in sim.requests()] == ["failed_118", "no_report"]
    assert sim.accepted_count_by_request_id() == {"a": 1, "b": 1}


@pytest.mark.parametrize(
    ("code", "changes"),
    [
        ("101", {"SecretKey": "wrong-secret"}),
        ("101", {"ApiKey": "wrong-key"}),
        ("789", {"TempID": "999"}),
        ("108", {"Phone": "0123456789"}),
        ("108", {"Phone": "+84901888484"}),
        ("801", {"SendingMode": "3", "SendDate": "2030-01-01 08:00:00"}),
        ("791", {"OAID": None}),
        ("791", {"TempID": ""}),
        ("210", {"Phone": None}),
        ("210", {"TempData": []}),
        ("210", {"TempData": {"customer_name": 5}}),
        ("210", {"SendDate": "tomorrow"}),
        ("210", {"RequestId": "x" * 51}),
        ("210", {"Sandbox": "yes"}),
        ("210", {"Phone": ["0901888484"]}),
    ],
)
def test_invalid_sends_are_refused_with_esms_codes(
    code: str,
    changes: dict[str, Any],
    sim: EsmsSimulator,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    response = post(http, sim, send_body(CallbackUrl=receiver.url(), **changes))

    assert response.status_code == 200
    answer = response.json()
    assert_documented_shape(answer, documented.SEND_UNAUTHORIZED)
    assert answer["CodeResult"] == code
    assert answer["ErrorMessage"]
    assert sim.wait_for_callbacks_idle(30)
    assert receiver.raw_queries() == []
    assert sim.accepted_count_by_request_id() == {}


def test_documented_refusals_are_word_for_word(sim: EsmsSimulator, http: requests.Session) -> None:
    # When a send has the wrong keys, an unregistered template, a bad phone
    unauthorized = post(http, sim, send_body(SecretKey="nope")).json()
    unknown_template = post(http, sim, send_body(TempID="999")).json()
    bad_phone = post(http, sim, send_body(Phone="097469188")).json()

    # Then the answers are eSMS's own
    assert unauthorized == documented.SEND_UNAUTHORIZED
    assert unknown_template == documented.SEND_TEMPLATE_NOT_CONFIGURED
    assert bad_phone["ErrorMessage"] == "The phone number 097469188 is not valid."


@pytest.mark.parametrize(
    ("temp_data", "code", "reason"),
    [
        ({"name": "An", "code": "42", "day": "01/08/2024"}, "100", None),
        (
            [
                {"key": "day", "value": "29/02/2024"},
                {"key": "code", "value": "123456"},
                {"key": "name", "value": "A"},
            ],
            "100",
            None,
        ),
        ({"name": "An", "code": "42", "day": "01/08/2024", "note": ""}, "100", None),
        ({"name": "An", "code": "42"}, "790", "missing required parameters: day"),
        ({"name": "An", "code": "42", "day": "01/08/2024", "x": "1"}, "790", "x: not a parameter"),
        (
            {"name": "Nguyễn Văn An", "code": "42", "day": "01/08/2024"},
            "790",
            "name: length 13 outside 0..10",
        ),
        ({"name": "", "code": "42", "day": "01/08/2024"}, "790", "name: must not be empty"),
        ({"name": "An", "code": "4", "day": "01/08/2024"}, "790", "code: length 1 outside 2..6"),
        ({"name": "An", "code": "4a", "day": "01/08/2024"}, "790", "code: a NUMBER"),
        ({"name": "An", "code": "42", "day": "2024-08-01"}, "790", "day: a DATE is dd/MM/yyyy"),
        ({"name": "An", "code": "42", "day": "31/02/2024"}, "790", "day: a DATE is dd/MM/yyyy"),
        ([{"key": "name", "value": "A"}, {"key": "name", "value": "B"}], "790", "name: given twice"),
    ],
)
def test_tempdata_is_checked_against_the_template_parameter_spec(
    temp_data: Any, code: str, reason: str | None, sim: EsmsSimulator, http: requests.Session
) -> None:
    # Given template 777: name (<= 10), code (NUMBER, 2..6 digits), day (DATE), optional note
    # When a send fills it in
    answer = post(http, sim, send_body(TempID="777", TempData=temp_data)).json()

    # Then eSMS accepts it or answers 790, and the request log says why
    assert answer["CodeResult"] == code
    detail = sim.requests()[0]["detail"]
    assert (detail is None) if reason is None else reason in detail


def test_request_id_is_refused_with_the_documented_124_for_24_hours(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    first = post(http, sim, send_body()).json()
    second = post(http, sim, send_body(Phone="0987654321")).json()
    clock.advance(24 * 3600 + 1)
    third = post(http, sim, send_body()).json()

    assert first["CodeResult"] == "100"
    assert second == documented.SMS_DUPLICATE_REQUEST  # the same answer on every send endpoint
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
    sandbox = post(http, sim, send_body(Sandbox="1", CallbackUrl=receiver.url())).json()
    sandbox_as_number = post(http, sim, send_body(Sandbox=1, RequestId="n")).json()
    refused = post(http, sim, send_body(Sandbox="1", Phone="0123")).json()

    assert sandbox["CodeResult"] == sandbox_as_number["CodeResult"] == "100"
    assert sandbox["SMSID"]
    assert refused["CodeResult"] == "108"
    assert sim.wait_for_callbacks_idle(30)
    assert receiver.raw_queries() == []
    assert sim.accepted_count_by_request_id() == {}
    assert post(http, sim, send_body()).json()["CodeResult"] == "100"  # the RequestId was not kept


def test_a_5xx_fault_answers_before_any_check(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given an eSMS whose every answer is a server error
    sim.configure(error_rate_5xx=1.0)
    body = send_body(CallbackUrl=receiver.url())

    # When a valid send is posted
    response = post(http, sim, body)

    # Then an HTML error page comes back, and eSMS did nothing with the send
    assert response.status_code in {500, 503}
    assert response.headers["Content-Type"].startswith("text/html")
    [record] = sim.requests()
    assert (record["fault"], record["accepted"], record["code_result"]) == ("5xx", False, None)
    assert sim.accepted_count_by_request_id() == {}
    sim.configure(**NO_FAULTS)
    assert post(http, sim, body).json()["CodeResult"] == "100"  # the RequestId was not kept
    assert sim.wait_for_callbacks_idle(30)
    assert len(receiver.raw_queries()) == 1


LOST_ANSWERS: dict[str, dict[str, float]] = {
    "drop": {"drop_rate": 1.0},
    "timeout": {"timeout_rate": 1.0, "timeout_sleep_seconds": 0.5},
}


@pytest.mark.parametrize("fault", list(LOST_ANSWERS))
def test_a_send_whose_answer_is_lost_was_accepted_all_the_same(
    fault: str, sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given an eSMS that processes every request but loses its answer (the connection closed, or the
    # answer held past the client's read timeout)
    sim.configure(**LOST_ANSWERS[fault])
    body = send_body(CallbackUrl=receiver.url())

    # When a valid send is posted, the client hears nothing
    with pytest.raises(requests.ConnectionError if fault == "drop" else requests.ReadTimeout):
        post(http, sim, body, timeout=0.1)

    # Then eSMS accepted it, and its request log says so, with the SMSID the client never heard
    [record] = wait_for(lambda: [r for r in sim.requests() if r["accepted"]], 30.0)
    assert (record["fault"], record["code_result"], record["outcome"]) == (fault, "100", "delivered")
    assert record["sms_id"]
    assert sim.accepted_count_by_request_id() == {"req-1": 1}
    # And its RequestId is remembered: the client's retry hears 124
    sim.configure(**NO_FAULTS)
    assert post(http, sim, body).json() == documented.SMS_DUPLICATE_REQUEST
    # And its report is called back, once
    assert sim.wait_for_callbacks_idle(30)
    [callback] = receiver.queries()
    assert (callback["SMSID"], callback["SendStatus"]) == (record["sms_id"], "5")
    assert sim.accepted_count_by_request_id() == {"req-1": 1}


def test_fault_and_outcome_draws_are_seeded(sim: EsmsSimulator, http: requests.Session) -> None:
    sim.configure(seed=7, error_rate_5xx=0.3, outcomes={"delivered": 0.5, "failed_114": 0.5})

    def run() -> list[tuple[str | None, str | None]]:
        sim.reset()  # also reseeds
        for number in range(30):
            post(http, sim, send_body(RequestId=f"r{number}"))
        return [(record["fault"], record["outcome"]) for record in sim.requests()]

    first, second = run(), run()

    assert first == second
    assert 3 <= sum(fault == "5xx" for fault, _ in first) <= 15
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

    answer = post(http, sim, send_body(CallbackUrl=receiver.url())).json()

    assert sim.wait_for_callbacks_idle(30)
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

    answer = post(http, sim, send_body(CallbackUrl=receiver.url())).json()

    assert [query["SMSID"] for query in receiver.queries()] == [answer["SMSID"]]


def test_callbacks_are_retried_on_timeout_only(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sim.configure(callback_timeout_seconds=0.1, callback_retries=2, callback_retry_delay_seconds=0.01)
    receiver.delay_seconds = 0.3
    post(http, sim, send_body(RequestId="slow", CallbackUrl=receiver.url("slow")))
    assert sim.wait_for_callbacks_idle(30)
    receiver.delay_seconds = 0.0
    receiver.status = 500
    post(http, sim, send_body(RequestId="failing", CallbackUrl=receiver.url("failing")))
    assert sim.wait_for_callbacks_idle(30)

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
    # Given configuration changes over HTTP, good and bad
    updated = http.post(
        f"{sim.control_url}/config", json={"latency_ms": [1, 2], "outcomes": {"failed_118": 1}}
    )
    unknown = http.post(f"{sim.control_url}/config", json={"latency_ms": 1, "no_such_knob": 1})
    invalid = http.post(f"{sim.control_url}/config", json={"drop_rate": 2})
    not_an_object = http.post(f"{sim.control_url}/config", json=[1])
    # When sends carry credentials and a signed CallbackUrl with a query string
    signed_url = f"{receiver.url()}?token=query-secret"
    post(http, sim, send_body(CallbackUrl=signed_url))
    post(http, sim, send_body(ApiKey="leaked-wrong-key", SecretKey="leaked-wrong-secret"))
    assert sim.wait_for_callbacks_idle(30)

    # Then the configuration shows the changes and refuses the bad ones
    assert updated.status_code == 200
    assert updated.json()["latency_ms"] == [1.0, 2.0]
    assert http.get(f"{sim.control_url}/config").json() == updated.json()
    assert sim.config.latency_ms == (1.0, 2.0)
    assert (unknown.status_code, invalid.status_code, not_an_object.status_code) == (400, 400, 400)
    assert "no_such_knob" in unknown.json()["error"]
    # And no log shows a key, the signature or the query string
    listed = http.get(f"{sim.control_url}/requests")
    callbacks = http.get(f"{sim.control_url}/callbacks")
    secrets = (
        LOCAL_API_KEY,
        LOCAL_SECRET_KEY,
        "leaked-wrong-key",
        "leaked-wrong-secret",
        SIGNATURE,
        "query-secret",
    )
    for secret in secrets:
        for text in (listed.text, callbacks.text, json.dumps(sim.requests()), json.dumps(sim.callbacks())):
            assert secret not in text
    records = listed.json()
    assert [record["code_result"] for record in records] == ["100", "101"]
    assert {record["body"]["ApiKey"] for record in records} == {REDACTED}
    assert {record["body"]["SecretKey"] for record in records} == {REDACTED}
    base = receiver.url().removesuffix(f"/{SIGNATURE}")
    assert records[0]["body"]["CallbackUrl"] == f"{base}/{REDACTED}?{REDACTED}"
    assert records[0]["sms_id"] and records[0]["received_at"] and records[0]["answered_at"]
    [callback] = callbacks.json()
    assert (callback["outcome"], callback["http_status"]) == ("failed_118", 200)
    assert callback["url"] == f"{base}/{REDACTED}?{REDACTED}"
    # And the callback itself reached the full URL given
    assert receiver.paths() == [f"/callbacks/esms/req-1/{SIGNATURE}"]
    assert receiver.raw_queries()[0].startswith("token=query-secret&SMSID=")
    # And reset forgets everything
    assert http.post(f"{sim.control_url}/reset").status_code == 200
    assert http.get(f"{sim.control_url}/requests").json() == []
    assert http.get(f"{sim.control_url}/callbacks").json() == []
    assert post(http, sim, send_body()).json()["CodeResult"] == "100"  # RequestIds forgotten too


def test_unknown_paths_and_methods(sim: EsmsSimulator, http: requests.Session) -> None:
    assert http.post(f"{sim.url}/SendZaloMessage_V9/", json={}).status_code == 404
    assert http.get(f"{sim.url}/SendZaloMessage_V5_post/").status_code == 405
    assert http.get(f"{sim.control_url}/nothing").status_code == 404


def test_stop_leaves_no_thread_behind(http: requests.Session, receiver: CallbackReceiver) -> None:
    with EsmsSimulator(config=SimulatorConfig(callback_delay_seconds=5.0)) as simulator:
        assert post(http, simulator, send_body(CallbackUrl=receiver.url())).json()["CodeResult"] == "100"

    assert not [thread for thread in threading.enumerate() if thread.name.startswith("esms-sim")]
    assert simulator.wait_for_callbacks_idle(0.0)
    assert receiver.raw_queries() == []
