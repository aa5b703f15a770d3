"""What eSMS knows of a message, as GetCallback and QueryZnsStatus tell it: in their documented shapes,
whether or not the callbacks reached the CallbackUrl, and never final for a message without a report."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from local.esms_sim import EsmsSimulator
from tests.support import esms_documented as documented
from tests.support.esms_simulator_kit import (
    OA_ID,
    CallbackReceiver,
    assert_documented_shape,
    get_callback,
    post,
    post_sms,
    query_status,
    send_body,
    sms_body,
)
from tests.support.waiting import wait_for


def accepted_sms_id(http: requests.Session, sim: EsmsSimulator, **changes: Any) -> str:
    answer = post(http, sim, send_body(**changes)).json()
    assert answer["CodeResult"] == "100", answer
    sms_id: str = answer["SMSID"]
    return sms_id


def test_get_callback_reports_sends_with_a_callback_url_in_the_documented_shape(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a failed and a delivered message with a CallbackUrl, one without, one from another OA
    sim.configure(phone_outcomes={"0901888484": "failed_114"})
    failed = accepted_sms_id(http, sim, RequestId="a", CallbackUrl=receiver.url("a"))
    delivered = accepted_sms_id(http, sim, RequestId="b", Phone="0961234567", CallbackUrl=receiver.url("b"))
    without_url = accepted_sms_id(http, sim, RequestId="c")
    other_oa = accepted_sms_id(http, sim, RequestId="d", OAID="42", CallbackUrl=receiver.url("d"))
    assert sim.wait_for_callbacks_idle(30)

    # When GetCallback is asked about all of them, an unknown SMSID and one twice
    answer = get_callback(http, sim, [failed, delivered, without_url, other_oa, "unknown", failed])

    # Then it answers as documented, for the OA's sends that had a CallbackUrl, each once
    assert_documented_shape(answer, documented.GET_CALLBACK)
    assert (answer["Code"], answer["Message"]) == (100, "Success")
    first, second = answer["Data_callback"]
    assert first == {
        "SMSID": failed,
        "SendFailed": 1,
        "SendSuccess": 0,
        "SendStatus": 5,
        "TotalPrice": 0.0,
        "TotalReceiver": 1,
        "TotalSent": 0,
        "RequestId": None,
        "TypeId": 25,
        "Telcoid": 2,
        "PhoneNumber": "0901888484",
        "CallbackUrl": receiver.url("a"),
        "Partnerids": "",
        "ErrorInfo": first["ErrorInfo"],
        "OAId": OA_ID,
        "ZnsTempId": "2056446",
    }
    assert json.loads(first["ErrorInfo"])["error"] == -114
    assert (second["SMSID"], second["SendSuccess"], second["SendFailed"]) == (delivered, 1, 0)
    assert (second["TotalPrice"], second["Telcoid"], second["ErrorInfo"]) == (300.0, 1, "")
    assert len(second["Partnerids"]) == 20
    # And the other OA's message is reported to that OA only
    [other] = get_callback(http, sim, [failed, other_oa], OAId="42")["Data_callback"]
    assert other["SMSID"] == other_oa


def test_lost_callbacks_are_still_known_to_get_callback_and_query_zns_status(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given an eSMS whose callbacks never reach the CallbackUrl
    sim.configure(callback_loss_rate=1.0, sent_first=1.0)

    # When a message is accepted and delivered
    sms_id = accepted_sms_id(http, sim, CallbackUrl=receiver.url())
    assert sim.wait_for_callbacks_idle(30)

    # Then no callback arrived, and the log shows both as lost
    assert receiver.raw_queries() == []
    assert [(c["send_status"], c["lost"], c["http_status"]) for c in sim.callbacks()] == [
        (7, True, None),
        (5, True, None),
    ]
    assert sim.requests()[0]["callbacks_lost"] is True
    # But GetCallback and QueryZnsStatus know the outcome
    [item] = get_callback(http, sim, [sms_id])["Data_callback"]
    assert (item["SendStatus"], item["SendSuccess"], item["SendFailed"]) == (5, 1, 0)
    data = query_status(http, sim, sms_id)["Data"]
    assert (data["FinalStatus"], data["ErrorInfo"], data["SendStatus"], data["SendSuccess"]) == (
        "1",
        "0",
        5,
        1,
    )


def test_a_callback_still_in_flight_does_not_hold_back_what_esms_knows_of_the_next_report(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a CallbackUrl that answers nothing for now, and a message reported "sent" then delivered
    sim.configure(sent_first=1.0, callback_timeout_seconds=60)
    receiver.answering.clear()
    sms_id = accepted_sms_id(http, sim, CallbackUrl=receiver.url())

    def final_send_status() -> int | None:
        [item] = get_callback(http, sim, [sms_id])["Data_callback"]
        return item["SendStatus"] if item["SendStatus"] == 5 else None

    # When eSMS is asked while the "sent" callback still waits for its answer
    assert wait_for(receiver.queries, timeout=15)
    # Then it knows the delivery already (its record follows the report's time, not its callbacks);
    # asked once a second, well under GetCallback's 20 calls a second
    assert wait_for(final_send_status, timeout=15, interval=1.0) == 5
    assert [query["SendStatus"] for query in receiver.queries()] == ["7"]
    receiver.answering.set()
    assert sim.wait_for_callbacks_idle(30)
    assert [query["SendStatus"] for query in receiver.queries()] == ["7", "5"]


def test_a_message_without_a_report_is_never_final(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given numbers whose messages never get a final report
    sim.configure(phone_outcomes={"0901888484": "no_report", "0961234567": "no_report"})

    # When one is accepted without, and one with, a "sent" (SendStatus 7) report
    waiting = accepted_sms_id(http, sim, RequestId="a", CallbackUrl=receiver.url("a"))
    sim.configure(sent_first=1.0)
    sent = accepted_sms_id(http, sim, RequestId="b", Phone="0961234567", CallbackUrl=receiver.url("b"))
    assert sim.wait_for_callbacks_idle(30)

    # Then only the SendStatus 7 callback came
    assert [query["SendStatus"] for query in receiver.queries()] == ["7"]
    # And GetCallback and QueryZnsStatus say neither is final
    waiting_item, sent_item = get_callback(http, sim, [waiting, sent])["Data_callback"]
    assert (waiting_item["SendStatus"], waiting_item["TotalSent"], waiting_item["Partnerids"]) == (2, 0, "")
    assert (sent_item["SendStatus"], sent_item["TotalSent"], sent_item["SendSuccess"]) == (7, 1, 0)
    for sms_id, send_status in ((waiting, 2), (sent, 7)):
        answer = query_status(http, sim, sms_id)
        assert_documented_shape(answer["Data"] | {"ErrorInfo": ""}, documented.QUERY_ZNS_STATUS["Data"])
        data = answer["Data"]
        assert (data["FinalStatus"], data["ErrorInfo"], data["SendStatus"]) == ("0", None, send_status)
        assert data["SendSuccess"] == data["SendFailed"] == 0


def test_before_its_report_a_message_is_waiting_to_send(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given an eSMS that reports an hour after accepting
    sim.configure(callback_delay_seconds=3600)

    # When a message was just accepted
    sms_id = accepted_sms_id(http, sim, CallbackUrl=receiver.url())

    # Then it is known, waiting to be sent (SendStatus 2), and its report is still to come
    [item] = get_callback(http, sim, [sms_id])["Data_callback"]
    assert (item["SendStatus"], item["SendSuccess"], item["SendFailed"], item["ErrorInfo"]) == (2, 0, 0, "")
    data = query_status(http, sim, sms_id)["Data"]
    assert (data["FinalStatus"], data["ErrorInfo"], data["SendStatus"]) == ("0", None, 2)
    assert not sim.wait_for_callbacks_idle(0.0)


@pytest.mark.parametrize(
    ("outcome", "error_info", "counts"),
    [
        ("delivered", "0", (1, 0, 1, 300.0)),
        ("failed_114", "-114", (0, 1, 0, 0.0)),
        ("failed_118", "-118", (0, 1, 0, 0.0)),
        ("failed_1001", "1001", (0, 1, 0, 0.0)),
    ],
)
def test_query_zns_status_answers_in_the_documented_shape(
    outcome: str,
    error_info: str,
    counts: tuple[int, int, int, float],
    sim: EsmsSimulator,
    http: requests.Session,
) -> None:
    # Given a message, without a CallbackUrl, whose delivery ended as `outcome`
    sim.configure(outcomes={outcome: 1.0})
    sms_id = accepted_sms_id(http, sim)
    assert sim.wait_for_callbacks_idle(30)

    # When its status is queried
    answer = query_status(http, sim, sms_id, SmsType=25)

    # Then the answer is the documented one, ErrorInfo "0" or the error code
    assert_documented_shape(answer, documented.QUERY_ZNS_STATUS)
    data = answer["Data"]
    assert (answer["CodeResult"], data["SMSID"], data["FinalStatus"], data["SendStatus"]) == (
        "100",
        sms_id,
        "1",
        5,
    )
    assert data["ErrorInfo"] == error_info
    assert (data["SendSuccess"], data["SendFailed"], data["TotalSent"], data["TotalPrice"]) == counts
    assert bool(data["ZaloMsgId"]) == (outcome == "delivered")


def test_query_zns_status_refusals(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given a sandbox send and an SMS, neither of which QueryZnsStatus knows
    sandbox = accepted_sms_id(http, sim, Sandbox="1")
    sms = post_sms(http, sim, sms_body()).json()["SMSID"]

    # When the status of those, an unknown, a missing SMSID, a non-ZNS type and wrong keys is asked
    answers = [
        query_status(http, sim, sandbox),
        query_status(http, sim, sms),
        query_status(http, sim, "unknown"),
        query_status(http, sim, ""),
        query_status(http, sim, "unknown", SmsType="2"),
        query_status(http, sim, "unknown", SecretKey="wrong"),
    ]

    # Then each is refused with the error table's code, in the documented refusal shape
    for answer in answers:
        assert_documented_shape(answer, documented.GET_QUOTA_UNAUTHORIZED)
    assert [answer["CodeResult"] for answer in answers] == ["854", "854", "854", "851", "118", "101"]
    assert answers[-1] == documented.GET_QUOTA_UNAUTHORIZED


def test_get_callback_refusals(sim: EsmsSimulator, http: requests.Session) -> None:
    # When GetCallback is called with wrong keys, and with a ListRefid that is not a list
    unauthorized = get_callback(http, sim, [], SecretKey="wrong")
    malformed = get_callback(http, sim, [], ListRefid="abc")

    # Then the first keeps GetCallback's envelope with eSMS's 101, the second is eSMS's "Invalid request"
    assert unauthorized == {"Code": 101, "Message": "Authorize Failed", "Data_callback": []}
    assert malformed == documented.SMS_INVALID_REQUEST


def test_get_callback_reports_zns_only(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given an SMS sent with a CallbackUrl
    sms_id = post_sms(http, sim, sms_body(CallbackUrl=receiver.url())).json()["SMSID"]
    assert sim.wait_for_callbacks_idle(30)

    # When GetCallback (a Zalo endpoint) is asked about it, then it has nothing
    assert get_callback(http, sim, [sms_id])["Data_callback"] == []


def test_reset_forgets_every_message(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    sms_id = accepted_sms_id(http, sim, CallbackUrl=receiver.url())
    assert sim.wait_for_callbacks_idle(30)

    sim.reset()

    assert get_callback(http, sim, [sms_id])["Data_callback"] == []
    assert query_status(http, sim, sms_id)["CodeResult"] == "854"
