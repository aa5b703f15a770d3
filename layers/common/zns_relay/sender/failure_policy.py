"""The failure policy: what a send's result makes of the message.

Time, not a count of receives, decides when to give up: a transient failure is retried with backoff
until the message's retry window ends (its ValidUntil, else the deployment's retry window). When it
ends, a message that eSMS certainly refused every time is FAILED (or EXPIRED, if its validity ran
out); one that eSMS may have accepted (an attempt timed out, or its holder died mid-send) is never
FAILED: it waits for its delivery report, and the reconciler ends it UNKNOWN if none comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from zns_relay.models.esms import ResultClass, SendResult
from zns_relay.models.state import MessageStatus

if TYPE_CHECKING:
    from zns_relay.store.records import ClaimedMessage

TPS_LIMIT_CODE = "160"  # eSMS's rate limit: the record waits for the shared rate, not for a backoff


@dataclass(frozen=True)
class Window:
    """How long a message is retried (epoch seconds), and how long it is worth sending at all."""

    retry_until: int
    valid_until: int | None


def retry_window(valid_until: int | None, now: int, window_seconds: int) -> Window:
    """Retry for the retry window from the first attempt (the store keeps the first claim's end),
    or until the validity ends, if that is sooner. A backlog in the queue costs no retry time."""
    retry_until = now + window_seconds
    if valid_until is not None:
        retry_until = min(retry_until, valid_until)
    return Window(retry_until=retry_until, valid_until=valid_until)


def first_look(window: Window, abandon_after: int, follow_up_at: int) -> int:
    """When the reconciler first looks at a message a delivery claims: at its follow-up (`follow_up_at`),
    which acceptance and the SENT report keep (its waiting-index entry is written once), or, should no
    delivery come back to it, `abandon_after` seconds past its window's end, whichever is sooner."""
    return min(window.retry_until + abandon_after, follow_up_at)


def window_ended(claim: ClaimedMessage, window: Window, now: int) -> bool:
    """The claimed message's retry window (the first claim's, which the store keeps) is over."""
    return now >= (claim.retry_until or window.retry_until)


@dataclass(frozen=True)
class Accept:
    """eSMS holds the message: it waits for its delivery report."""

    detail: str


@dataclass(frozen=True)
class Finish:
    """The message ends here, never accepted: FAILED or EXPIRED."""

    status: MessageStatus
    detail: str


@dataclass(frozen=True)
class WaitForReport:
    """The window is over, but an attempt may have reached eSMS: its report (or the reconciler) decides."""

    detail: str


@dataclass(frozen=True)
class Retry:
    """Back to the queue, for another attempt within the window."""

    detail: str
    within_seconds: int  # what is left of the window: the last retry lands at its end
    throttled: bool  # eSMS's rate limit: wait for the backlog at the shared rate, not for a backoff
    uncertain: bool  # this attempt, or the holder the claim took over from, may have reached eSMS


Decision = Accept | Finish | WaitForReport | Retry


def judge(result: SendResult, claim: ClaimedMessage, now: int) -> Decision:
    """What one attempt's `result` makes of the claimed message at `now`."""
    match result.result_class:
        case ResultClass.ACCEPTED:
            return Accept("accepted by eSMS")
        case ResultClass.DUPLICATE if claim.attempts > 1 or claim.possibly_accepted:
            # An earlier attempt of ours was accepted but its answer never reached our record.
            return Accept("eSMS already holds this RequestId from an earlier attempt")
        case ResultClass.DUPLICATE:
            detail = f"{result.description}: this RequestId was sent to eSMS by something else within 24 h"
            return Finish(MessageStatus.FAILED, detail)
        case ResultClass.PERMANENT:
            return Finish(MessageStatus.FAILED, result.description)
        case _:  # ACCOUNT, TRANSIENT: retried while the window lasts
            remaining = (claim.retry_until or now) - now
            if remaining <= 0:
                return close_window(claim, result)
            return Retry(
                result.description,
                within_seconds=remaining,
                throttled=result.code == TPS_LIMIT_CODE,
                uncertain=result.possibly_accepted or claim.took_over,
            )


def close_window(claim: ClaimedMessage, last: SendResult | None) -> Finish | WaitForReport:
    """The retry window is over: FAILED or EXPIRED if eSMS certainly holds nothing, else wait for the
    report. `last` is this receive's attempt; None when the window was over before it sent anything."""
    last_error = last.description if last is not None else claim.error
    because = f" (last: {last_error})" if last_error else ""
    if claim.possibly_accepted or (last is not None and last.possibly_accepted):
        return WaitForReport(
            f"retry window over; an earlier attempt may have reached eSMS: waiting for its report{because}"
        )
    if claim.validity_ends_window:
        detail = f"not sent: its validity (ValidUntil) passed before eSMS accepted it{because}"
        return Finish(MessageStatus.EXPIRED, detail)
    attempts = claim.attempts if last is not None else claim.attempts - 1  # this claim sent nothing
    return Finish(MessageStatus.FAILED, f"gave up after {attempts} attempts over the retry window{because}")
