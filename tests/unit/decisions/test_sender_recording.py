"""The fields the sender records with each status (zns_relay.sender.recording's pure part)."""

from __future__ import annotations

import pytest

from zns_relay.models.esms import ResultClass, SendResult
from zns_relay.models.state import MessageStatus
from zns_relay.sender.failure_policy import Accept, Finish, Retry, WaitForReport
from zns_relay.sender.recording import (
    HISTORY_RECEIVES,
    Write,
    accepted_write,
    finish_write,
    keeps_history,
    retry_write,
    waiting_write,
)

NOW = 1_800_000_000
ACCEPTED = SendResult(ResultClass.ACCEPTED, "100", sms_id="s-1")
TIMED_OUT = SendResult(ResultClass.TRANSIENT, None, message="read timeout", possibly_accepted=True)


@pytest.mark.parametrize(("sandbox", "check_at"), [(False, NOW + 900), (True, None)])
def test_an_accepted_message_keeps_its_smsid_and_first_acceptance_and_is_followed_up_unless_sandbox(
    sandbox: bool, check_at: int | None
) -> None:
    # A sandbox message stays ACCEPTED: eSMS keeps no sandbox message, so no report will come.
    write = accepted_write(Accept("accepted by eSMS"), ACCEPTED, sandbox=sandbox, now=NOW, check_at=NOW + 900)
    assert write == Write(
        MessageStatus.ACCEPTED,
        "accepted by eSMS",
        {"sms_id": "s-1", "esms_code": "100", "sandbox": sandbox},
        keep={"accepted_at": NOW},
        check_at=check_at,
        keep_check_at=True,
    )


@pytest.mark.parametrize(("uncertain", "keep"), [(False, {}), (True, {"uncertain_since": NOW})])
def test_a_retry_is_abandoned_to_the_reconciler_past_the_windows_end_and_marks_a_possible_acceptance(
    uncertain: bool, keep: dict[str, object]
) -> None:
    decision = Retry("read timeout", within_seconds=600, throttled=False, uncertain=uncertain)
    write = retry_write(decision, TIMED_OUT, now=NOW, abandon_after=1800, history=False)
    assert write == Write(
        MessageStatus.RETRYING,
        "read timeout",
        {"esms_code": None, "error": "read timeout"},
        keep=keep,
        check_at=NOW + 600 + 1800,
        history=False,
    )


def test_a_message_waiting_for_its_report_is_looked_at_now_and_stays_uncertain() -> None:
    write = waiting_write(WaitForReport("retry window over"), TIMED_OUT, now=NOW)
    assert write == Write(
        MessageStatus.RETRYING,
        "retry window over",
        {"esms_code": None, "error": "retry window over"},
        keep={"uncertain_since": NOW},
        check_at=NOW,
    )


@pytest.mark.parametrize(("last", "code"), [(SendResult(ResultClass.PERMANENT, "99"), "99"), (None, None)])
def test_a_finished_message_records_the_last_esms_code_if_any(
    last: SendResult | None, code: str | None
) -> None:
    write = finish_write(Finish(MessageStatus.EXPIRED, "validity passed"), last)
    assert write == Write(
        MessageStatus.EXPIRED, "validity passed", {"esms_code": code, "error": "validity passed"}
    )


def test_only_the_first_receives_add_a_history_entry() -> None:
    assert keeps_history(HISTORY_RECEIVES)
    assert not keeps_history(HISTORY_RECEIVES + 1)
