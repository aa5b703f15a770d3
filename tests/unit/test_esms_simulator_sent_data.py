"""The simulator's GetSmsSentData_V2 lists every message eSMS accepted, in eSMS's documented shape: by
creation time in Vietnam time, paged, lost callbacks and lost answers included, sandbox and refused
sends left out; a bad query is refused."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from local.esms_sim import EsmsSimulator
from tests.support import esms_documented as documented
from tests.support.esms_simulator_kit import (
    CREDENTIALS,
    NO_FAULTS,
    SMS_CONTENT,
    CallbackReceiver,
    FakeClock,
    assert_documented_shape,
    post,
    post_sms,
    send_body,
    sms_body,
)
from tests.support.waiting import wait_for

START = 1_705_484_040  # 2024-01-17 09:34:00 UTC = 16:34:00 in Vietnam, the second of eSMS's sample
THE_HOUR = {"From": "2024-01-17 16:00:00", "To": "2024-01-17 17:00:00"}  # Vietnam time, around START


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def sent_data(http: requests.Session, sim: EsmsSimulator, **changes: Any) -> dict[str, Any]:
    """GetSmsSentData_V2 for ZNS (SmsType 25) over THE_HOUR, one page of 500, as eSMS's sample asks."""
    body = {**CREDENTIALS, "SmsType": "25", **THE_HOUR, "Page": 1, "PageSize": 500, **changes}
    answer: dict[str, Any] = http.post(f"{sim.url}/GetSmsSentData_V2", json=body, timeout=5).json()
    return answer


def reference_ids(answer: dict[str, Any]) -> list[str]:
    return [item["ReferenceId"] for item in answer["SentData"]]


def accepted_sms_id(http: requests.Session, sim: EsmsSimulator, **changes: Any) -> str:
    answer = post(http, sim, send_body(**changes)).json()
    assert answer["CodeResult"] == "100", answer
    sms_id: str = answer["SMSID"]
    return sms_id


def test_messages_are_listed_in_the_documented_shape_with_their_report(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    # Given a delivered ZNS of a campaign, a failed one, one without a report yet, and an SMS
    sim.configure(phone_outcomes={"0961111111": "failed_114", "0962222222": "no_report"})
    delivered = accepted_sms_id(
        http,
        sim,
        RequestId="a",
        campaignid="Chiến dịch 17/01/2024",
        TempData={"customer_name": "An", "order_code": "DH-1"},
    )
    failed = accepted_sms_id(http, sim, RequestId="b", Phone="0961111111")
    waiting = accepted_sms_id(http, sim, RequestId="c", Phone="0962222222")
    sms = post_sms(http, sim, sms_body(campaignid="otp")).json()["SMSID"]
    assert sim.wait_for_callbacks_idle(30)

    # When the hour is listed, for ZNS and for SMS
    zns_answer = sent_data(http, sim)
    sms_answer = sent_data(http, sim, SmsType="2")

    # Then both answers have the documented fields and JSON types
    assert_documented_shape(zns_answer, documented.GET_SMS_SENT_DATA)
    assert_documented_shape(sms_answer, documented.GET_SMS_SENT_DATA)
    assert (zns_answer["CodeResult"], zns_answer["CountTotal"]) == ("100", 3)
    first, second, third = zns_answer["SentData"]
    # And each ZNS is the message sent, with its SMSID and its report as it stands
    assert first == {
        "Campaign": "Chiến dịch 17/01/2024",
        "Content": "An DH-1",
        "Phone": "0901888484",
        "ReferenceId": delivered,
        "SellPrice": 300.0,
        "SendResult": 1,
        "SendStatus": 5,
        "SentTime": "/Date(1705484040000+0700)/",
        "SmsId": first["SmsId"],
        "SmsType": 25,
    }
    assert (second["ReferenceId"], second["SendResult"], second["SendStatus"]) == (failed, 0, 5)
    assert (third["ReferenceId"], third["SendResult"], third["SendStatus"]) == (waiting, 2, 2)
    assert first["SmsId"] < second["SmsId"] < third["SmsId"]
    # And the SMS is listed as SmsType 2, with its text and price
    [sms_item] = sms_answer["SentData"]
    assert (sms_item["ReferenceId"], sms_item["SmsType"], sms_item["Content"]) == (sms, 2, SMS_CONTENT)
    assert (sms_item["Campaign"], sms_item["SellPrice"], sms_item["SendResult"]) == ("otp", 850.0, 1)
    # And no other type holds any of them
    assert sent_data(http, sim, SmsType="24") == {"CodeResult": "100", "CountTotal": 0, "SentData": []}


def test_pages_follow_creation_order_and_count_total_counts_the_range(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # Given seven messages accepted a second apart
    sent: list[str] = []
    for number in range(7):
        sent.append(accepted_sms_id(http, sim, RequestId=f"r{number}"))
        clock.advance(1)

    # When they are read three at a time, pages given as text and as numbers
    pages = [sent_data(http, sim, Page=page, PageSize="3") for page in (1, "2", 3, 4)]

    # Then the pages hold 3, 3, 1 and 0 of them, oldest first, each page counting all seven
    assert [reference_ids(page) for page in pages] == [sent[0:3], sent[3:6], sent[6:], []]
    assert [page["CountTotal"] for page in pages] == [7, 7, 7, 7]


def test_the_range_is_of_creation_times_in_vietnam_time_both_ends_included(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # Given messages accepted at 16:33:59, 16:34:00, 16:35:00 and 16:35:01 Vietnam time
    sent: list[str] = []
    for step in (-1, 1, 60, 1):
        clock.advance(step)
        sent.append(accepted_sms_id(http, sim, RequestId=f"r{len(sent)}"))

    # When 16:34:00 to 16:35:00 is listed, in Vietnam time and (wrongly) in UTC
    vietnam = sent_data(http, sim, From="2024-01-17 16:34:00", To="2024-01-17 16:35:00")
    utc = sent_data(http, sim, From="2024-01-17 09:34:00", To="2024-01-17 09:35:00")

    # Then the two created within it are listed; read as UTC, none is
    assert (vietnam["CountTotal"], reference_ids(vietnam)) == (2, sent[1:3])
    assert [item["SentTime"] for item in vietnam["SentData"]] == [
        "/Date(1705484040000+0700)/",
        "/Date(1705484100000+0700)/",
    ]
    assert utc["CountTotal"] == 0


def test_messages_whose_callbacks_or_answer_were_lost_are_listed_with_their_smsid(
    sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver
) -> None:
    # Given a message whose callbacks never reach the CallbackUrl
    sim.configure(callback_loss_rate=1.0)
    lost_callbacks = accepted_sms_id(http, sim, RequestId="a", CallbackUrl=receiver.url("a"))
    # And a message eSMS accepted while the client timed out, whose retry heard 124 (no SMSID)
    sim.configure(callback_loss_rate=0.0, timeout_rate=1.0, timeout_sleep_seconds=0.5)
    timed_out = send_body(
        RequestId="b", Phone="0961234567", campaignid="camp-b", CallbackUrl=receiver.url("b")
    )
    with pytest.raises(requests.ReadTimeout):
        post(http, sim, timed_out, timeout=0.1)
    wait_for(lambda: sim.accepted_count_by_request_id().get("b"), 30.0)
    sim.configure(**NO_FAULTS)
    assert post(http, sim, timed_out).json()["CodeResult"] == "124"
    assert sim.wait_for_callbacks_idle(30)

    # When the hour is listed
    answer = sent_data(http, sim)

    # Then both are there with their SMSIDs, the timed-out one findable by its phone and campaign
    [never_answered] = [
        record["sms_id"] for record in sim.requests("zns_send") if record["fault"] == "timeout"
    ]
    assert reference_ids(answer) == [lost_callbacks, never_answered]
    found = [
        item["ReferenceId"]
        for item in answer["SentData"]
        if (item["Phone"], item["Campaign"]) == ("0961234567", "camp-b")
    ]
    assert found == [never_answered]
    assert [item["SendStatus"] for item in answer["SentData"]] == [5, 5]


def test_sandbox_and_refused_sends_are_not_listed(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given one accepted ZNS, and sends eSMS did not keep: sandbox, refused, duplicate, faulted
    accepted = accepted_sms_id(http, sim, RequestId="kept")
    sim.configure(sms_refused_pattern="khuyen mai")
    not_kept = [
        post(http, sim, send_body(RequestId="sandbox", Sandbox="1")),
        post(http, sim, send_body(RequestId="unregistered", TempID="999")),
        post(http, sim, send_body(RequestId="kept")),
        post_sms(http, sim, sms_body(RequestId="sms-sandbox", Sandbox="1")),
        post_sms(http, sim, sms_body(RequestId="sms-146", Content="khuyen mai")),
    ]
    sim.configure(error_rate_5xx=1.0)
    not_kept.append(post(http, sim, send_body(RequestId="5xx")))
    sim.configure(**NO_FAULTS)

    # When the hour is listed, for ZNS and SMS
    zns, sms = sent_data(http, sim), sent_data(http, sim, SmsType=2)

    # Then only the accepted ZNS is there
    assert [response.json()["CodeResult"] for response in not_kept[:5]] == ["100", "789", "124", "100", "146"]
    assert not_kept[5].status_code in {500, 503}
    assert (zns["CountTotal"], reference_ids(zns)) == (1, [accepted])
    assert (sms["CountTotal"], sms["SentData"]) == (0, [])


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"SmsType": ""}, "300", "Missing message type"),
        ({"SmsType": "3"}, "118", "Message type is not supported"),
        ({"From": "2024/01/17 16:00:00"}, "161", "From is invalid date format."),
        ({"To": "2024-01-17 25:00:00"}, "161", "To is invalid date format."),
        ({"From": "2024-01-17 17:00:01"}, "161", "To is before From."),
        ({"From": "2024-01-14 16:59:59"}, "161", "The range is over 3 days."),
        ({"Page": 0}, "162", "Page is invalid."),
        ({"PageSize": 501}, "162", "PageSize is invalid."),
        ({"PageSize": "ten"}, "162", "PageSize is invalid."),
    ],
)
def test_a_bad_query_is_refused(
    changes: dict[str, Any], code: str, message: str, sim: EsmsSimulator, http: requests.Session
) -> None:
    # When a query breaks a documented rule (a range of 3 days and a page of 500 are the largest)
    answer = sent_data(http, sim, **changes)

    # Then it is refused in the endpoint's CodeResult shape, with a code from eSMS's error table
    assert answer == {"CodeResult": code, "ErrorMessage": message}
    assert sim.requests()[0]["code_result"] == code


def test_the_largest_query_and_omitted_paging_are_answered(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    # Given one accepted ZNS
    sms_id = accepted_sms_id(http, sim)

    # When exactly 3 days are asked with pages of 500, and then without Page and PageSize
    largest = sent_data(http, sim, From="2024-01-14 17:00:00", PageSize=500, SmsType=25)
    omitted = sent_data(http, sim, Page=None, PageSize=None)

    # Then both list it
    assert reference_ids(largest) == reference_ids(omitted) == [sms_id]


def test_wrong_keys_and_unreadable_bodies_are_refused(sim: EsmsSimulator, http: requests.Session) -> None:
    # When the keys are wrong, or the body is not a JSON object of text and numbers
    wrong_keys = sent_data(http, sim, SecretKey="wrong")
    not_json = http.post(f"{sim.url}/GetSmsSentData_V2", data="From=today", timeout=5).json()
    a_list_for_a_page = sent_data(http, sim, Page=[1])

    # Then the wrong keys hear the 101 the other CodeResult endpoints document; the others Invalid request
    assert wrong_keys == documented.GET_QUOTA_UNAUTHORIZED
    assert not_json == a_list_for_a_page == documented.SMS_INVALID_REQUEST
