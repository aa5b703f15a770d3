"""How a waiting message ends when no delivery report decides it (pure): UNKNOWN only on eSMS's word
or past the hard cap (zns_relay.reconciler.report_wait), FAILED or EXPIRED when eSMS certainly refused
every attempt; and what an inconclusive answer leads to."""

from __future__ import annotations

from dataclasses import dataclass

from zns_relay.models.state import WAITING_FOR_REPORT, MessageStatus
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.store.records import WaitingMessage


@dataclass(frozen=True)
class Ending:
    """A final status to write, with the reason its history and error give."""

    status: MessageStatus
    detail: str


@dataclass(frozen=True)
class Look:
    """Look at the message again at `check_at` (epoch seconds)."""

    check_at: int


def duration_text(seconds: int) -> str:
    """72 h, 30 min, 36 s: the largest whole unit."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def unknown(message: WaitingMessage, policy: ReconcilePolicy, *, asked: bool) -> Ending:
    """UNKNOWN: eSMS, asked past the deadline, holds no final report (`asked`), or it is past the cap."""
    if not asked:
        cap = duration_text(policy.unknown_cap_seconds)
        detail = (
            f"no final delivery report within {cap} (as long as eSMS keeps a message's status), and"
            " no answer from eSMS since the report was due"
        )
    elif message.status in WAITING_FOR_REPORT:
        overdue = duration_text(policy.unknown_after_seconds)
        detail = f"no final delivery report within {overdue} of acceptance, though eSMS was asked"
    else:
        overdue = duration_text(policy.unknown_after_seconds)
        detail = f"eSMS may have accepted it, but no delivery report came within {overdue}"
    return Ending(MessageStatus.UNKNOWN, detail)


def refused(message: WaitingMessage) -> Ending:
    """A RETRYING message past its window that no delivery revisits, refused by eSMS every time."""
    if message.valid_until is not None and message.valid_until <= (message.retry_until or 0):
        return Ending(
            MessageStatus.EXPIRED, "not sent: its validity (ValidUntil) passed before eSMS accepted it"
        )
    return Ending(
        MessageStatus.FAILED, "gave up: the retry window is over and no queue delivery is left to retry it"
    )


def after_no_final_report(
    message: WaitingMessage, asked_at: int, now: int, policy: ReconcilePolicy
) -> Ending | Look:
    """eSMS, asked at `asked_at`, holds no final report: UNKNOWN if asked past the deadline, else a
    look again later."""
    wait = policy.report_wait(message)
    if wait.ends_on_answer(asked_at):
        return unknown(message, policy, asked=True)
    return Look(wait.next_look(now))


def recheck(message: WaitingMessage, now: int, policy: ReconcilePolicy) -> Look:
    """The next look at a message eSMS could not be asked about (or whose answer said nothing)."""
    return Look(policy.report_wait(message).next_look(now))
