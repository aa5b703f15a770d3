"""Where a due message goes (pure): a question to eSMS, a search for its SMSID, a later look, or, when
eSMS holds no report for it, settling it without a question."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from zns_relay.models.state import WAITING_FOR_REPORT, Channel, MessageStatus
from zns_relay.reconciler.endings import Ending, Look, refused
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.store.records import WaitingMessage


class Route(Enum):
    SETTLE = "settle"  # no report expected (yet): settle_unreported says how
    END_UNASKED = "end unasked"  # past the hard cap: UNKNOWN without a question
    ASK_SMS = "ask sms"  # an SMS fallback: GetSendStatus (GetCallback knows ZNS only)
    ASK_ZNS = "ask zns"  # GetCallback, in a batch of its OA's messages
    IDENTIFY = "identify"  # no SMSID: look for it in eSMS's list of sent messages first
    WAIT = "wait"  # nothing to ask eSMS with: it waits, until the cap
    RESEND = "resend"  # DEFERRED and due: queued to be sent again (resend_look says what then)


@dataclass(frozen=True)
class AbandonMidSend:
    """Its holder died mid-send and nothing will retry it: it may have reached eSMS, so it waits for a
    report (RETRYING, uncertain since the dead holder's lease ran out)."""

    uncertain_since: int  # when the dead holder's lease ran out
    lease_expired_by: int  # the write's condition: no holder may have a lease then
    check_at: int
    detail: str = "its sender stopped mid-send and no queue delivery is left; it may have reached eSMS"


def route(message: WaitingMessage, now: int, policy: ReconcilePolicy, *, can_identify: bool) -> Route:
    if message.status is MessageStatus.DEFERRED:
        return Route.RESEND
    if not may_hold_report(message, now, policy):
        return Route.SETTLE
    if policy.report_wait(message).ends_unasked(now):
        return Route.END_UNASKED
    if message.sms_id:
        return Route.ASK_SMS if message.channel is Channel.SMS else Route.ASK_ZNS
    return Route.IDENTIFY if can_identify else Route.WAIT


def may_hold_report(message: WaitingMessage, now: int, policy: ReconcilePolicy) -> bool:
    """eSMS may hold a report for it: accepted, or possibly accepted with its retry window over."""
    if message.status in WAITING_FOR_REPORT:
        return True
    return (
        message.status is MessageStatus.RETRYING
        and message.uncertain_since is not None
        and now >= policy.window_end(message)
    )


def settle_unreported(
    message: WaitingMessage, now: int, policy: ReconcilePolicy
) -> Look | AbandonMidSend | Ending:
    """A message no report is expected for (yet): one still in its retry window (or a live holder's
    lease) waits for it to end; past it, one left mid-send waits for a report, and one eSMS certainly
    refused every time is given up."""
    settles_at = max(policy.window_end(message), message.lease_until or 0)
    if now < settles_at:
        return Look(settles_at)
    if message.status is MessageStatus.SENDING:
        return AbandonMidSend(message.lease_until or now, now, now + policy.recheck_seconds)
    return refused(message)


def resend_look(message: WaitingMessage, now: int, policy: ReconcilePolicy) -> Look | Ending:
    """A DEFERRED message due: EXPIRED if its validity passed meanwhile; otherwise its resend is queued,
    and it is looked at again later, in case the job never brings it back to sending."""
    if message.valid_until is not None and now >= message.valid_until:
        return Ending(
            MessageStatus.EXPIRED, "not sent: its validity (ValidUntil) passed while Zalo deferred it"
        )
    return Look(now + policy.recheck_seconds)
