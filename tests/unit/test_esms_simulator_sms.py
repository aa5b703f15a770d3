"""The simulator's SMS endpoint (SendMultipleMessage_V4_post_json): eSMS's documented answers and the
customer-care (TypeId 2) callback format, with the same callback quirks as ZNS."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from local.esms_sim import SMS_CALLBACK_PARAMETERS, EsmsSimulator
from tests.support import esms_documented as documented
from tests.support.esms_simulator_kit import (
    CallbackReceiver,
    assert_documented_shape,
    post,
    post_sms,
    send_body,
    sms_body,
)


def test_an_accepted_sms_calls_back_in_the_documented_customer_care_format(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a number whose SMS fails, and one whose SMS is delivered
    sim.configure(sms_phone_outcomes={"0961234567": "failed"})

    # When an SMS goes to each
    failed = post_sms(http, sim, sms_body(CallbackUrl=receiver.url("a"), RequestId="a")).json()
    delivered = post_sms(
        http, sim, sms_body(CallbackUrl=receiver.url("b"), RequestId="b", Phone="0901888484")
    )

    # Then both are accepted as documented
    assert_documented_shape(failed, documented.SMS_ACCEPTED)
    assert_documented_shape(delivered.json(), documented.SMS_ACCEPTED)
    # And each calls back with exactly the parameters of eSMS's SMS sample, in its order
    assert sim.wait_for_callbacks_idle(30)
    failed_query, delivered_query = sorted(
        receiver.raw_queries(), key=lambda query: failed["SMSID"] not in query
    )
    assert tuple(dict(parse_qsl(documented.SMS_CALLBACK, keep_blank_values=True))) == SMS_CALLBACK_PARAMETERS
    assert failed_query == (
        f"SMSID={failed['SMSID']}&SendFailed=1&SendStatus=5&SendSuccess=0&TotalPrice=0.0000&TotalReceiver=1"
        "&TotalSent=1&RequestId=&TypeId=2&telcoid=1&phonenumber=0961234567&switchsmsid="
    )
    assert delivered_query == (
        f"SMSID={delivered.json()['SMSID']}&SendFailed=0&SendStatus=5&SendSuccess=1&TotalPrice=850.0000"
        "&TotalReceiver=1&TotalSent=1&RequestId=&TypeId=2&telcoid=2&phonenumber=0901888484&switchsmsid="
    )
    assert sim.accepted_count_by_request_id() == {"a": 1, "b": 1}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Brandname": "OtherBrand"}, documented.SMS_UNKNOWN_BRANDNAME),
        (
            {"SecretKey": "wrong"},
            {"CodeResult": "101", "CountRegenerate": 0, "ErrorMessage": "Authorize Failed"},
        ),
        ({"Content": ""}, documented.SMS_INVALID_REQUEST),
        ({"RequestId": "x" * 51}, documented.SMS_INVALID_REQUEST),
        ({"SendDate": "2026-02-30 08:00:00"}, documented.SMS_INVALID_REQUEST),
        ({"IsUnicode": "2"}, documented.SMS_INVALID_REQUEST),
        ({"Phone": ["0961234567"]}, documented.SMS_INVALID_REQUEST),
    ],
)
def test_sms_refusals_are_the_documented_answers(
    changes: dict[str, Any], expected: dict[str, Any], sim: EsmsSimulator, http: requests.Session
) -> None:
    answer = post_sms(http, sim, sms_body(**changes)).json()

    assert answer == expected
    assert sim.accepted_count_by_request_id() == {}


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"Phone": "012345"}, "108"), ({"SmsType": None}, "300"), ({"SmsType": "1"}, "118")],
)
def test_sms_refusals_with_codes_from_the_error_table(
    changes: dict[str, Any], code: str, sim: EsmsSimulator, http: requests.Session
) -> None:
    answer = post_sms(http, sim, sms_body(**changes)).json()

    assert_documented_shape(answer, documented.SMS_UNKNOWN_BRANDNAME)
    assert answer["CodeResult"] == code


def test_a_body_that_is_not_json_is_an_invalid_request(sim: EsmsSimulator, http: requests.Session) -> None:
    response = http.post(f"{sim.url}/SendMultipleMessage_V4_post_json/", data=b"Phone=0961234567", timeout=5)

    assert (response.status_code, response.json()) == (200, documented.SMS_INVALID_REQUEST)


def test_a_refused_template_answers_146_with_an_sms_id_but_sends_nothing(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given content eSMS refuses as a wrong customer-care template
    sim.configure(sms_refused_pattern=r"KHUYEN MAI")

    # When an SMS carries it
    answer = post_sms(http, sim, sms_body(Content="KHUYEN MAI 50%", CallbackUrl=receiver.url())).json()

    # Then the answer is 146 with an SMSID, as documented, and nothing was accepted or called back
    assert_documented_shape(answer, documented.SMS_WRONG_TEMPLATE)
    assert (answer["CodeResult"], answer["ErrorMessage"]) == ("146", "Sai template Brandname CSKH")
    assert sim.wait_for_callbacks_idle(30)
    assert receiver.raw_queries() == []
    assert sim.accepted_count_by_request_id() == {}
    assert post_sms(http, sim, sms_body()).json()["CodeResult"] == "100"  # the RequestId was not kept


def test_zns_and_sms_share_the_24_hour_request_id_memory(sim: EsmsSimulator, http: requests.Session) -> None:
    # When a ZNS and then an SMS carry one RequestId, and an SMS and then a ZNS another
    zns_first = post(http, sim, send_body(RequestId="one")).json()
    sms_second = post_sms(http, sim, sms_body(RequestId="one")).json()
    sms_first = post_sms(http, sim, sms_body(RequestId="two")).json()
    zns_second = post(http, sim, send_body(RequestId="two")).json()

    # Then the second of each pair is a duplicate, answered as documented
    assert zns_first["CodeResult"] == sms_first["CodeResult"] == "100"
    assert sms_second == zns_second == documented.SMS_DUPLICATE_REQUEST


@pytest.mark.parametrize(
    ("changes", "statuses", "lost"),
    [
        ({"sent_first": 1.0}, [7, 5], False),
        ({"duplicate_callbacks": 1.0}, [5, 5], False),
        ({"sent_first": 1.0, "reorder": 1.0}, [5, 7], False),
        ({"callback_loss_rate": 1.0}, [5], True),
    ],
)
def test_sms_callbacks_have_the_zns_quirks(
    changes: dict[str, float],
    statuses: list[int],
    lost: bool,
    sim: EsmsSimulator,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    sim.configure(**changes)

    post_sms(http, sim, sms_body(CallbackUrl=receiver.url()))

    assert sim.wait_for_callbacks_idle(30)
    assert [record["send_status"] for record in sim.callbacks()] == statuses
    assert {record["lost"] for record in sim.callbacks()} == {lost}
    assert len(receiver.raw_queries()) == (0 if lost else len(statuses))


def test_sandbox_and_no_report_sms_never_call_back(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a number whose SMS never gets a report
    sim.configure(sms_phone_outcomes={"0961234567": "no_report"})

    # When a sandbox SMS and a real one go out, with eSMS's numbers for string fields
    sandbox = post_sms(http, sim, sms_body(Sandbox=1, RequestId="a", CallbackUrl=receiver.url("a"))).json()
    silent = post_sms(
        http, sim, sms_body(SmsType=2, IsUnicode=0, RequestId="b", CallbackUrl=receiver.url("b"))
    )

    # Then both are accepted, only the real one counts, and neither calls back
    assert sandbox["CodeResult"] == silent.json()["CodeResult"] == "100"
    assert sim.wait_for_callbacks_idle(30)
    assert receiver.raw_queries() == []
    assert sim.accepted_count_by_request_id() == {"b": 1}
