"""When a wait ends UNKNOWN, and what an inconclusive answer leads to (pure decisions).

UNKNOWN only on eSMS's word (asked at or after the report's deadline, it holds no final report) or
past the hard cap of eSMS's 7-day memory; a message eSMS cannot be asked about waits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zns_relay.models.state import MessageStatus
from zns_relay.reconciler.endings import Ending, Look, after_no_final_report, duration_text, recheck, unknown
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.store.records import WaitingMessage

T = 1_796_000_000
HOUR = 3600
POLICY = ReconcilePolicy(unknown_after_seconds=72 * HOUR, recheck_seconds=HOUR, abandon_after_seconds=600)
DEADLINE = T + 72 * HOUR
HARD_STOP = T + POLICY.unknown_cap_seconds
ACCEPTED = WaitingMessage("r1", MessageStatus.ACCEPTED, check_at=T, sms_id="s1", accepted_at=T)
UNKNOWN = unknown(ACCEPTED, POLICY, asked=True)


@pytest.mark.parametrize(
    ("asked_at", "now", "expected"),
    [
        (T + HOUR, T + HOUR, Look(T + 2 * HOUR)),
        (DEADLINE - 30, DEADLINE - 30, Look(DEADLINE)),  # the last look comes at the deadline
        (DEADLINE - 1, DEADLINE + 5, Look(DEADLINE + 5 + HOUR)),  # asked before it: not eSMS's word
        (DEADLINE, DEADLINE, UNKNOWN),
        (DEADLINE + 5 * HOUR, DEADLINE + 5 * HOUR, UNKNOWN),
    ],
)
def test_an_answer_without_a_final_report(asked_at: int, now: int, expected: Look | Ending) -> None:
    assert after_no_final_report(ACCEPTED, asked_at, now, POLICY) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (T, T + HOUR),
        (DEADLINE - 10, DEADLINE),
        (DEADLINE + 10, DEADLINE + 10 + HOUR),  # overdue: it waits on for an answer...
        (HARD_STOP - 10, HARD_STOP),  # ...until the cap, where routing ends it unasked
    ],
)
def test_a_message_esms_cannot_be_asked_about_waits(now: int, expected: int) -> None:
    assert recheck(ACCEPTED, now, POLICY) == Look(expected)


@pytest.mark.parametrize(
    ("message", "start"),
    [
        (ACCEPTED, T),
        (replace(ACCEPTED, accepted_at=None, uncertain_since=T - 5), T - 5),
        (replace(ACCEPTED, accepted_at=None, lease_until=T - 7), T - 7),
        (replace(ACCEPTED, accepted_at=None, check_at=T - 9), T - 9),
    ],
)
def test_the_wait_starts_at_acceptance_or_the_attempt_that_may_have_reached_esms(
    message: WaitingMessage, start: int
) -> None:
    assert POLICY.report_wait(message).start == start


@pytest.mark.parametrize(
    ("message", "asked", "detail"),
    [
        (
            ACCEPTED,
            False,
            "no final delivery report within 168 h (as long as eSMS keeps a message's status), and no"
            " answer from eSMS since the report was due",
        ),
        (ACCEPTED, True, "no final delivery report within 72 h of acceptance, though eSMS was asked"),
        (
            replace(ACCEPTED, status=MessageStatus.RETRYING),
            True,
            "eSMS may have accepted it, but no delivery report came within 72 h",
        ),
    ],
)
def test_why_a_message_ended_unknown(message: WaitingMessage, asked: bool, detail: str) -> None:
    assert unknown(message, POLICY, asked=asked) == Ending(MessageStatus.UNKNOWN, detail)


@pytest.mark.parametrize(
    ("seconds", "text"), [(72 * HOUR, "72 h"), (1800, "30 min"), (36, "36 s"), (3601, "3601 s"), (0, "0 s")]
)
def test_duration_text(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text
