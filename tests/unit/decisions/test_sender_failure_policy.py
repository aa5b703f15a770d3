"""The failure policy (zns_relay.sender.failure_policy): what one attempt's result makes of a claimed
message, and what the end of its retry window does to it."""

from __future__ import annotations

import pytest

from zns_relay.models.esms import ResultClass, SendResult
from zns_relay.models.state import MessageStatus
from zns_relay.sender.backoff import throttled_delay
from zns_relay.sender.failure_policy import (
    Accept,
    Decision,
    Finish,
    Retry,
    WaitForReport,
    Window,
    close_window,
    first_look,
    judge,
    retry_window,
    window_ended,
)
from zns_relay.store.records import ClaimedMessage

NOW = 1_800_000_000
TIMED_OUT = SendResult(ResultClass.TRANSIENT, None, message="read timeout", possibly_accepted=True)
REFUSED_5XX = SendResult(ResultClass.TRANSIENT, None, message="eSMS answered 503")
THROTTLED = SendResult(ResultClass.TRANSIENT, "160")
BAD_CREDENTIALS = SendResult(ResultClass.ACCOUNT, "101")
NOT_CONFIGURED = SendResult(ResultClass.ACCOUNT, None, message="configuration: no secret")
INVALID_PHONE = SendResult(ResultClass.PERMANENT, "99")
DUPLICATE = SendResult(ResultClass.DUPLICATE, "124")


def claimed(
    attempts: int = 1,
    retry_until: int | None = NOW + 600,
    *,
    valid_until: int | None = None,
    uncertain_since: int | None = None,
    took_over: bool = False,
    error: str | None = None,
) -> ClaimedMessage:
    return ClaimedMessage(
        request_id="r-1",
        attempts=attempts,
        token="token",
        callback_nonce="nonce",
        retry_until=retry_until,
        valid_until=valid_until,
        uncertain_since=uncertain_since,
        took_over=took_over,
        error=error,
    )


@pytest.mark.parametrize(
    ("valid_until", "window_seconds", "expected"),
    [
        (None, 3600, Window(retry_until=NOW + 3600, valid_until=None)),
        (NOW + 600, 3600, Window(retry_until=NOW + 600, valid_until=NOW + 600)),  # validity ends it sooner
        (NOW + 7200, 3600, Window(retry_until=NOW + 3600, valid_until=NOW + 7200)),
    ],
)
def test_the_retry_window_is_the_deployments_from_now_or_shorter_if_the_validity_ends_sooner(
    valid_until: int | None, window_seconds: int, expected: Window
) -> None:
    assert retry_window(valid_until, NOW, window_seconds) == expected


@pytest.mark.parametrize(
    ("follow_up_at", "expected"),
    [
        (NOW + 900, NOW + 900),  # the accepted message's follow-up, usually
        (NOW + 86_400, NOW + 3600 + 1800),  # never later than the abandoned send's
    ],
)
def test_the_reconcilers_first_look_is_the_follow_up_or_the_abandoned_windows_end_whichever_is_sooner(
    follow_up_at: int, expected: int
) -> None:
    assert first_look(retry_window(None, NOW, 3600), 1800, follow_up_at) == expected


@pytest.mark.parametrize(
    ("claim_until", "now", "ended"),
    [
        (NOW + 10, NOW, False),
        (NOW, NOW, True),
        (NOW - 1, NOW, True),
        (None, NOW + 100, False),  # a first claim: this delivery's window, which has just begun
    ],
)
def test_the_window_that_counts_is_the_first_claims(claim_until: int | None, now: int, ended: bool) -> None:
    assert window_ended(claimed(retry_until=claim_until), retry_window(None, NOW, 3600), now) is ended


@pytest.mark.parametrize(
    ("result", "claim", "expected"),
    [
        (SendResult(ResultClass.ACCEPTED, "100", sms_id="s-1"), claimed(), Accept("accepted by eSMS")),
        # 124 after an earlier attempt of ours: that one was accepted, its answer lost
        (DUPLICATE, claimed(attempts=2), Accept("eSMS already holds this RequestId from an earlier attempt")),
        (
            DUPLICATE,
            claimed(uncertain_since=NOW - 60),
            Accept("eSMS already holds this RequestId from an earlier attempt"),
        ),
        (
            DUPLICATE,
            claimed(),
            Finish(
                MessageStatus.FAILED,
                f"{DUPLICATE.description}: this RequestId was sent to eSMS by something else within 24 h",
            ),
        ),
        (INVALID_PHONE, claimed(), Finish(MessageStatus.FAILED, INVALID_PHONE.description)),
        (
            REFUSED_5XX,
            claimed(),
            Retry("eSMS answered 503", within_seconds=600, throttled=False, uncertain=False),
        ),
        (TIMED_OUT, claimed(), Retry("read timeout", within_seconds=600, throttled=False, uncertain=True)),
        (
            REFUSED_5XX,
            claimed(took_over=True),  # the holder it took over from may have reached eSMS
            Retry("eSMS answered 503", within_seconds=600, throttled=False, uncertain=True),
        ),
        (
            THROTTLED,
            claimed(),
            Retry(THROTTLED.description, within_seconds=600, throttled=True, uncertain=False),
        ),
    ],
)
def test_a_send_result_decides_accept_fail_or_retry_within_the_window(
    result: SendResult, claim: ClaimedMessage, expected: Decision
) -> None:
    assert judge(result, claim, NOW) == expected


@pytest.mark.parametrize("result", [BAD_CREDENTIALS, NOT_CONFIGURED])
def test_an_account_or_configuration_problem_is_retried_while_the_window_lasts_never_failed_at_once(
    result: SendResult,
) -> None:
    decision = judge(result, claimed(), NOW)
    assert isinstance(decision, Retry)
    assert (decision.within_seconds, decision.throttled) == (600, False)
    ended = judge(result, claimed(retry_until=NOW), NOW)
    assert ended == Finish(
        MessageStatus.FAILED, f"gave up after 1 attempts over the retry window (last: {result.description})"
    )


def test_a_throttled_record_waits_for_the_backlog_and_at_least_half_an_errors_backoff() -> None:
    assert throttled_delay(backlog_seconds=3, retry_delay=40) == 20
    assert throttled_delay(backlog_seconds=30, retry_delay=40) == 30


@pytest.mark.parametrize(
    ("result", "claim", "expected"),
    [
        # Refused every time: FAILED, naming the attempts and the last error
        (
            REFUSED_5XX,
            claimed(attempts=4, retry_until=NOW),
            Finish(
                MessageStatus.FAILED,
                "gave up after 4 attempts over the retry window (last: eSMS answered 503)",
            ),
        ),
        # An earlier attempt may have been accepted: wait for its report, never FAILED
        (
            REFUSED_5XX,
            claimed(attempts=4, retry_until=NOW, uncertain_since=NOW - 300),
            WaitForReport(
                "retry window over; an earlier attempt may have reached eSMS: waiting for its report"
                " (last: eSMS answered 503)"
            ),
        ),
        # This very attempt may have been accepted
        (
            TIMED_OUT,
            claimed(attempts=4, retry_until=NOW - 5),
            WaitForReport(
                "retry window over; an earlier attempt may have reached eSMS: waiting for its report"
                " (last: read timeout)"
            ),
        ),
        # The window was the validity's: EXPIRED
        (
            REFUSED_5XX,
            claimed(attempts=2, retry_until=NOW, valid_until=NOW),
            Finish(
                MessageStatus.EXPIRED,
                "not sent: its validity (ValidUntil) passed before eSMS accepted it"
                " (last: eSMS answered 503)",
            ),
        ),
    ],
)
def test_a_retryable_failure_at_the_windows_end_closes_it(
    result: SendResult, claim: ClaimedMessage, expected: Decision
) -> None:
    assert judge(result, claim, NOW) == expected


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (
            claimed(attempts=3, retry_until=NOW, error="eSMS answered 503"),
            Finish(
                MessageStatus.FAILED,
                "gave up after 2 attempts over the retry window (last: eSMS answered 503)",
            ),
        ),
        (
            claimed(attempts=1, retry_until=NOW),
            Finish(MessageStatus.FAILED, "gave up after 0 attempts over the retry window"),
        ),
        (
            claimed(attempts=3, retry_until=NOW, took_over=True),
            WaitForReport(
                "retry window over; an earlier attempt may have reached eSMS: waiting for its report"
            ),
        ),
        (
            claimed(attempts=3, retry_until=NOW, valid_until=NOW - 10),
            Finish(
                MessageStatus.EXPIRED, "not sent: its validity (ValidUntil) passed before eSMS accepted it"
            ),
        ),
    ],
)
def test_a_window_over_before_this_receive_sent_anything_counts_only_the_attempts_made(
    claim: ClaimedMessage, expected: Decision
) -> None:
    assert close_window(claim, None) == expected
