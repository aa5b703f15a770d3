"""The rule that ends a message UNKNOWN: on eSMS's word after the deadline, or unasked past the cap."""

from __future__ import annotations

import pytest

from zns_relay.reconciler.report_wait import ESMS_STATUS_MEMORY_SECONDS, ReportWait

HOUR = 3600
START = 1_796_000_000
WAIT = ReportWait(start=START, unknown_after=72 * HOUR, cap=ESMS_STATUS_MEMORY_SECONDS, recheck=HOUR)
DEADLINE = START + 72 * HOUR
CAP = START + 7 * 24 * HOUR


def test_the_cap_is_esms_seven_day_memory_of_a_message_status() -> None:
    assert ESMS_STATUS_MEMORY_SECONDS == 7 * 24 * HOUR
    assert (WAIT.deadline, WAIT.hard_stop) == (DEADLINE, CAP)


@pytest.mark.parametrize(
    ("asked_at", "ends"),
    [(START + 1800, False), (DEADLINE - 1, False), (DEADLINE, True), (DEADLINE + 50 * HOUR, True)],
    ids=["early", "a second before the deadline", "at the deadline", "long after"],
)
def test_an_answer_without_a_final_report_ends_it_only_when_asked_at_or_after_the_deadline(
    asked_at: int, ends: bool
) -> None:
    assert WAIT.ends_on_answer(asked_at) is ends


@pytest.mark.parametrize(
    ("now", "ends"),
    [(DEADLINE, False), (DEADLINE + 4 * 24 * HOUR - 1, False), (CAP - 1, False), (CAP, True)],
    ids=["at the deadline", "four days overdue", "a second before the cap", "at the cap"],
)
def test_unasked_it_ends_only_at_the_cap_however_overdue(now: int, ends: bool) -> None:
    assert WAIT.ends_unasked(now) is ends


@pytest.mark.parametrize(
    ("now", "next_look"),
    [
        (START + 1800, START + 1800 + HOUR),  # a recheck interval on
        (DEADLINE - 600, DEADLINE),  # never past the deadline: the last look must come after it
        (DEADLINE + 600, DEADLINE + 600 + HOUR),  # overdue and eSMS unreachable: hourly, until the cap
        (CAP - 600, CAP),  # never past the cap
    ],
    ids=["waiting", "just before the deadline", "overdue", "just before the cap"],
)
def test_the_next_look_comes_a_recheck_interval_on_but_never_past_the_deadline_or_the_cap(
    now: int, next_look: int
) -> None:
    assert WAIT.next_look(now) == next_look


def test_overdue_from_the_deadline_on() -> None:
    assert [WAIT.overdue(DEADLINE - 1), WAIT.overdue(DEADLINE)] == [False, True]
