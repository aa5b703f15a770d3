"""Where a due message goes, and how one no report is expected for is settled (pure decisions)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zns_relay.models.state import Channel, MessageStatus
from zns_relay.reconciler.endings import Ending, Look
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.reconciler.routing import AbandonMidSend, Route, resend_look, route, settle_unreported
from zns_relay.store.records import WaitingMessage

T = 1_796_000_000
HOUR = 3600
POLICY = ReconcilePolicy(unknown_after_seconds=72 * HOUR, recheck_seconds=HOUR, abandon_after_seconds=600)
CAP = POLICY.unknown_cap_seconds
ACCEPTED = WaitingMessage("r1", MessageStatus.ACCEPTED, check_at=T, sms_id="s1", oa_id="oa", accepted_at=T)
RETRYING = WaitingMessage("r1", MessageStatus.RETRYING, check_at=T, phone="84900000001", retry_until=T)
SENDING = WaitingMessage("r1", MessageStatus.SENDING, check_at=T, retry_until=T, lease_until=T - 60)
WINDOW_OVER = T + POLICY.abandon_after_seconds  # the retry window plus the abandon margin


@pytest.mark.parametrize(
    ("message", "now", "can_identify", "expected"),
    [
        (ACCEPTED, T + HOUR, True, Route.ASK_ZNS),
        (replace(ACCEPTED, status=MessageStatus.SENT), T + HOUR, True, Route.ASK_ZNS),
        (replace(ACCEPTED, channel=Channel.SMS), T + HOUR, True, Route.ASK_SMS),
        (replace(ACCEPTED, sms_id=None), T + HOUR, True, Route.IDENTIFY),
        (replace(ACCEPTED, sms_id=None), T + HOUR, False, Route.WAIT),
        # past eSMS's 7-day memory, nothing is left to ask: UNKNOWN unasked, SMSID or not
        (ACCEPTED, T + CAP, True, Route.END_UNASKED),
        (replace(ACCEPTED, sms_id=None), T + CAP, False, Route.END_UNASKED),
        (ACCEPTED, T + CAP - 1, True, Route.ASK_ZNS),
        # a RETRYING message an attempt may have reached eSMS with: asked about once its window is over
        (replace(RETRYING, uncertain_since=T - HOUR), WINDOW_OVER, True, Route.IDENTIFY),
        (replace(RETRYING, uncertain_since=T - HOUR, sms_id="s1"), WINDOW_OVER, True, Route.ASK_ZNS),
        (replace(RETRYING, uncertain_since=T - HOUR), WINDOW_OVER - 1, True, Route.SETTLE),
        # refused every time, or still sending: no report to ask for
        (RETRYING, WINDOW_OVER + CAP, True, Route.SETTLE),
        (SENDING, WINDOW_OVER, True, Route.SETTLE),
    ],
)
def test_route(message: WaitingMessage, now: int, can_identify: bool, expected: Route) -> None:
    assert route(message, now, POLICY, can_identify=can_identify) is expected


@pytest.mark.parametrize(
    ("message", "now", "expected"),
    [
        # in its retry window (a queue delivery will come back to it): looked at when the window ends
        (RETRYING, T, Look(WINDOW_OVER)),
        (SENDING, T, Look(WINDOW_OVER)),
        # a live holder's lease outlasting the window: it is the holder's until the lease runs out
        (replace(SENDING, lease_until=WINDOW_OVER + 30), WINDOW_OVER, Look(WINDOW_OVER + 30)),
        # a holder that died mid-send: uncertain since its lease ran out, it waits for a report
        (SENDING, WINDOW_OVER, AbandonMidSend(T - 60, WINDOW_OVER, WINDOW_OVER + HOUR)),
        (
            replace(SENDING, lease_until=None),
            WINDOW_OVER,
            AbandonMidSend(WINDOW_OVER, WINDOW_OVER, WINDOW_OVER + HOUR),
        ),
        # refused by eSMS on every attempt: FAILED, or EXPIRED when its validity ended the window
        (
            RETRYING,
            WINDOW_OVER,
            Ending(
                MessageStatus.FAILED,
                "gave up: the retry window is over and no queue delivery is left to retry it",
            ),
        ),
        (
            replace(RETRYING, valid_until=T),
            WINDOW_OVER,
            Ending(
                MessageStatus.EXPIRED, "not sent: its validity (ValidUntil) passed before eSMS accepted it"
            ),
        ),
        (
            replace(RETRYING, valid_until=T + 1),
            WINDOW_OVER,
            Ending(
                MessageStatus.FAILED,
                "gave up: the retry window is over and no queue delivery is left to retry it",
            ),
        ),
    ],
)
def test_settle_unreported(
    message: WaitingMessage, now: int, expected: Look | AbandonMidSend | Ending
) -> None:
    assert settle_unreported(message, now, POLICY) == expected


def test_an_abandoned_message_is_never_ended_unknown_on_the_spot() -> None:
    """A dead holder may have reached eSMS: its message waits for a report, however late it is found."""
    outcome = settle_unreported(SENDING, WINDOW_OVER + CAP, POLICY)

    assert isinstance(outcome, AbandonMidSend)


DEFERRED = WaitingMessage(
    "r1", MessageStatus.DEFERRED, check_at=T, phone="84900000001", valid_until=T + 6 * HOUR
)


def test_a_deferred_message_due_is_resent_and_looked_at_again_in_case_its_job_is_lost() -> None:
    assert route(DEFERRED, T, POLICY, can_identify=True) is Route.RESEND
    assert resend_look(DEFERRED, T, POLICY) == Look(T + POLICY.recheck_seconds)
    assert resend_look(replace(DEFERRED, valid_until=None), T, POLICY) == Look(T + POLICY.recheck_seconds)


def test_a_deferred_message_whose_validity_passed_meanwhile_expires_unsent() -> None:
    ending = resend_look(DEFERRED, T + 6 * HOUR, POLICY)
    assert isinstance(ending, Ending)
    assert ending.status is MessageStatus.EXPIRED
    assert "while Zalo deferred it" in ending.detail
