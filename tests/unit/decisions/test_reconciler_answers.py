"""What eSMS's status answers say (pure decisions): the most final of an SMSID's replayed reports
wins, and only an answer that moves the message is a report to apply."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zns_relay.models.callback import parse_delivery_report
from zns_relay.models.state import MessageStatus
from zns_relay.reconciler.answers import NoReport, ReportToApply, most_final_by_sms_id, read_answer
from zns_relay.store.records import WaitingMessage

SENT = {"SMSID": "a", "SendStatus": "7"}
DELIVERED = {"SMSID": "a", "SendStatus": "5", "SendSuccess": "1"}
FAILED = {"SMSID": "a", "SendStatus": "5", "SendFailed": "1"}
REJECTED = {"SMSID": "a", "SendStatus": "4"}
PENDING = {"SMSID": "a", "SendStatus": "1"}
UNREADABLE = {"SMSID": "a", "SendStatus": "seven"}
ACCEPTED = WaitingMessage("r1", MessageStatus.ACCEPTED, check_at=0, sms_id="a")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([SENT, DELIVERED], DELIVERED),  # eSMS replays a message's callbacks: the 5 decides
        ([DELIVERED, SENT], DELIVERED),
        ([PENDING, SENT], SENT),
        ([SENT, PENDING], SENT),
        ([UNREADABLE, SENT], SENT),
        ([FAILED, DELIVERED], FAILED),  # of two that decide, the first stands
        ([REJECTED, SENT], REJECTED),
        ([PENDING], PENDING),
    ],
)
def test_the_most_final_answer_wins(answers: list[dict[str, str]], expected: dict[str, str]) -> None:
    assert most_final_by_sms_id(answers) == {"a": expected}


def test_answers_are_kept_per_sms_id_and_an_unreadable_one_is_left_out() -> None:
    other = {**DELIVERED, "SMSID": "b"}

    assert most_final_by_sms_id([SENT, other, {"SendStatus": "5"}, UNREADABLE]) == {"a": SENT, "b": other}


@pytest.mark.parametrize(
    ("message", "answer", "expected"),
    [
        (ACCEPTED, UNREADABLE, NoReport.UNREADABLE),
        (ACCEPTED, {"SendStatus": "5"}, NoReport.UNREADABLE),  # no SMSID
        (ACCEPTED, PENDING, NoReport.NOT_FINAL),
        (ACCEPTED, {"SMSID": "a", "SendStatus": "5"}, NoReport.NOT_FINAL),  # finished, neither count
        (replace(ACCEPTED, status=MessageStatus.SENT), SENT, NoReport.NOT_FINAL),  # nothing new
        (ACCEPTED, SENT, MessageStatus.SENT),
        (ACCEPTED, DELIVERED, MessageStatus.DELIVERED),
        (replace(ACCEPTED, status=MessageStatus.SENT), FAILED, MessageStatus.FAILED),
        (ACCEPTED, REJECTED, MessageStatus.FAILED),
    ],
)
def test_read_answer(
    message: WaitingMessage, answer: dict[str, str], expected: NoReport | MessageStatus
) -> None:
    reading = read_answer(message, answer)

    if isinstance(expected, NoReport):
        assert reading is expected
    else:
        assert reading == ReportToApply(parse_delivery_report(answer), expected)
