"""What the sender writes to a message's item for each decision, and the writes themselves (through
the store, with the metric and the log line that go with each).

The `*_write` functions are pure: the fields each status is recorded with. `Recorder` makes the writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from zns_relay.config.observability import count, logger
from zns_relay.models.errors import ContractViolation
from zns_relay.models.esms import SendResult
from zns_relay.models.pause import Pause
from zns_relay.models.state import MessageStatus
from zns_relay.models.suppression import Suppression
from zns_relay.models.zalo_rules import MAX_DEFERRALS, VALIDITY_MARGIN_SECONDS, next_attempt_at
from zns_relay.sender.delivery import HeldBack, Outcome, SendOutcome
from zns_relay.sender.failure_policy import Accept, Finish, Retry, WaitForReport
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import ClaimedMessage
from zns_relay.store.writes import MoreChanges

SENDING_ONLY = frozenset({MessageStatus.SENDING})
EVERY_STATUS = frozenset(MessageStatus)
# Retries beyond this many receives still count attempts but add no history entry: a message retried
# for hours through an outage must not grow its item without bound.
HISTORY_RECEIVES = 10


@dataclass(frozen=True)
class Write:
    """One write of a send's result to the claimed message's item (MessageStore.transition)."""

    status: MessageStatus
    detail: str
    fields: Mapping[str, object]
    keep: Mapping[str, object] | None = None  # set only where the item has none yet
    check_at: int | None = None  # the reconciler's next look
    keep_check_at: bool = False  # an earlier look stands
    history: bool = True
    data: Mapping[str, object] | None = None  # kept in the history entry
    removes: tuple[str, ...] = ()  # attributes the write removes
    counts: tuple[str, ...] = ()  # counters the write adds one to


def keeps_history(receive_count: int) -> bool:
    """Whether this receive's attempt adds an entry to the message's history (HISTORY_RECEIVES)."""
    return receive_count <= HISTORY_RECEIVES


def accepted_write(decision: Accept, result: SendResult, *, sandbox: bool, now: int, check_at: int) -> Write:
    """ACCEPTED with eSMS's SMSID; looked at `check_at` unless a sandbox message (eSMS keeps no sandbox
    message, so no report will come: it stays ACCEPTED)."""
    return Write(
        MessageStatus.ACCEPTED,
        decision.detail,
        {"sms_id": result.sms_id, "esms_code": result.code, "sandbox": sandbox},
        keep={"accepted_at": now},
        check_at=None if sandbox else check_at,
        keep_check_at=True,
    )


def retry_write(decision: Retry, result: SendResult, *, now: int, abandon_after: int, history: bool) -> Write:
    """RETRYING; abandoned to the reconciler `abandon_after` seconds past the window's end, should no
    delivery come back. An attempt that may have reached eSMS marks the message uncertain from now."""
    return Write(
        MessageStatus.RETRYING,
        decision.detail,
        {"esms_code": result.code, "error": result.description},
        keep={"uncertain_since": now} if decision.uncertain else {},
        check_at=now + decision.within_seconds + abandon_after,
        history=history,
    )


def waiting_write(decision: WaitForReport, last: SendResult | None, *, now: int) -> Write:
    """RETRYING past its window, uncertain: the reconciler looks at it now."""
    fields = {"esms_code": last.code if last else None, "error": decision.detail}
    return Write(MessageStatus.RETRYING, decision.detail, fields, keep={"uncertain_since": now}, check_at=now)


def finish_write(decision: Finish, last: SendResult | None) -> Write:
    """FAILED or EXPIRED, with the last eSMS code if an attempt got one."""
    fields = {"esms_code": last.code if last else None, "error": decision.detail}
    return Write(decision.status, decision.detail, fields)


def suppressed_write(suppression: Suppression) -> Write:
    """FAILED without an eSMS call: the person refused (zns_relay.models.suppression). The history entry
    carries Zalo's code, as a report's would: the fallback's `refused` trigger reads it there."""
    reason = suppression.reason()
    fields = {"esms_code": None, "error": reason}
    data = {"error_code": str(suppression.code), "suppressed_by": suppression.request_id}
    return Write(MessageStatus.FAILED, reason, fields, data=data)


def handed_back(request_id: str, detail: str, delay: int = 0) -> SendOutcome:
    """Not claimed (no time or no send slot left, or another delivery holds it): the record goes back to
    the queue, seen again after `delay` seconds."""
    count("RecordsHandedBack")
    return SendOutcome(Outcome.HANDED_BACK, request_id, detail, delay)


def paused_write(pause: Pause, claim: ClaimedMessage) -> Write:
    """DEFERRED without an eSMS call while Zalo paused its OA or template (zns_relay.models.pause): sent
    again once the pause ends, at its own moment. A hold counts as a deferral: one held or deferred
    MAX_DEFERRALS times, or whose validity ends first, is FAILED at once (its SMS fallback then still
    goes in time). Its next attempt's RequestId moves on too, which eSMS, never asked, does not mind."""
    at = next_attempt_at(pause.until, claim.request_id)
    data: dict[str, object] = {"error_code": str(pause.code), "paused_by": pause.request_id}
    why = pause.reason().removeprefix("held unsent: ")
    if claim.deferrals >= MAX_DEFERRALS:
        reason = f"not sent: {why}, and it was deferred {claim.deferrals} times already"
    elif claim.valid_until is not None and at + VALIDITY_MARGIN_SECONDS >= claim.valid_until:
        reason = f"not sent: {why}, after its validity (ValidUntil)"
    else:
        fields = {"esms_code": None, "error": pause.reason(), "next_attempt_at": at}
        data = {**data, "next_attempt_at": at}
        removes = ("retry_until", "claim_token")
        return Write(
            MessageStatus.DEFERRED,
            pause.reason(),
            fields,
            check_at=at,
            data=data,
            removes=removes,
            counts=("deferrals",),
        )
    return Write(MessageStatus.FAILED, reason, {"esms_code": None, "error": reason}, data=data)


def held_write(held: HeldBack, claim: ClaimedMessage) -> Write | None:
    """What becomes of a message held back unsent: FAILED for the person's refusal, DEFERRED (or FAILED)
    for a pause. None when a pause must not hold it: an earlier attempt may have reached eSMS, which
    then answers its retry with 124 (holding it past eSMS's 24 hours could send it twice)."""
    if held.refusal is not None:
        return suppressed_write(held.refusal)
    assert held.pause is not None
    return None if claim.possibly_accepted else paused_write(held.pause, claim)


class Recorder:
    """The sender's writes; safe to share between threads."""

    def __init__(self, store: MessageStore) -> None:
        self._store = store

    def accepted(self, claim: ClaimedMessage, write: Write, result: SendResult) -> SendOutcome:
        # Logged before the write: should the write fail, this line is the only record of the SMSID.
        logger.info("message accepted", extra={"sms_id": result.sms_id, "sandbox": write.fields["sandbox"]})
        self._write(claim, write)
        count("MessagesAccepted")
        return SendOutcome(Outcome.ACCEPTED, claim.request_id, write.detail)

    def retrying(self, claim: ClaimedMessage, write: Write, delay: int) -> SendOutcome:
        self._write(claim, write)
        count("MessagesRetried")
        logger.info("send failed for now; will retry", extra={"reason": write.detail, "delay": delay})
        return SendOutcome(Outcome.RETRY, claim.request_id, write.detail, retry_after_seconds=delay)

    def waiting(self, claim: ClaimedMessage, write: Write) -> SendOutcome:
        self._write(claim, write)
        count("MessagesWaitingForReport")
        logger.warning("retry window over; waiting for a report", extra={"reason": write.detail})
        return SendOutcome(Outcome.WAITING, claim.request_id, write.detail)

    def finished(self, claim: ClaimedMessage, write: Write) -> SendOutcome:
        self._write(claim, write)
        status = write.status.value
        count(f"Messages{status.capitalize()}")
        logger.warning(f"message {status.lower()}", extra={"reason": write.detail})
        outcome = Outcome.EXPIRED if write.status is MessageStatus.EXPIRED else Outcome.FAILED
        return SendOutcome(outcome, claim.request_id, write.detail)

    def held(self, claim: ClaimedMessage, write: Write) -> SendOutcome:
        """A message held back unsent (held_write): deferred, or finished."""
        if write.status is not MessageStatus.DEFERRED:
            return self.finished(claim, write)
        self._write(claim, write)
        count("MessagesHeldByPause")
        logger.info("held unsent while Zalo's pause lasts", extra={"reason": write.detail})
        return SendOutcome(Outcome.DEFERRED, claim.request_id, write.detail)

    def rejected(
        self, violation: ContractViolation, request_id: str, fields: Mapping[str, object] | None
    ) -> SendOutcome:
        """A message that breaks the producer contract: REJECTED, never sent."""
        recorded = self._store.create_final(request_id, MessageStatus.REJECTED, violation.reason, fields)
        count("MessagesRejected")
        logger.warning(
            "message rejected: it breaks the producer contract",
            extra={"reason": violation.reason, "recorded": recorded},
        )
        return SendOutcome(Outcome.REJECTED, request_id, violation.reason)

    def refused_unclaimed(
        self, request_id: str, reason: str, fields: Mapping[str, object]
    ) -> SendOutcome | None:
        """A message eSMS would refuse (its TempData does not fit its template): REJECTED, never sent,
        with the fields (its fingerprint among them) a claim would have written: a repeat of it is then
        known for the same message, and the status API's lists find it.

        None when the message already has an item (it was tried before, the template since changed): the
        claim decides then, and eSMS's own refusal after it.
        """
        if not self._store.create_final(request_id, MessageStatus.REJECTED, reason, fields):
            return None
        count("MessagesRejected")
        logger.warning("message rejected: its TempData does not fit its template", extra={"reason": reason})
        return SendOutcome(Outcome.REJECTED, request_id, reason)

    def expired_unclaimed(self, request_id: str, fields: Mapping[str, object]) -> bool:
        """A message whose validity ended before anything claimed it: EXPIRED, never sent.

        False when the message already has an item (it was tried before): the claim decides then.
        """
        reason = "not sent: its validity (ValidUntil) passed before it could be sent"
        created = self._store.create_final(request_id, MessageStatus.EXPIRED, reason, fields)
        if created:
            count("MessagesExpired")
            logger.warning("message expired before any attempt", extra={"reason": reason})
        return created

    def reused(self, request_id: str, detail: str, data: Mapping[str, object], status: MessageStatus) -> None:
        """A producer gave `request_id` to a different message: the one holding it (now `status`) says so
        in its history and the RequestIdReused metric."""
        self._store.note(request_id, detail, data, while_in=EVERY_STATUS)
        count("RequestIdReused")
        logger.warning("RequestId reused by a different message: not sent", extra={"status": status})

    def _write(self, claim: ClaimedMessage, write: Write) -> None:
        """Record a send's result: only from SENDING, and only while the claim is still ours."""
        if not self._store.transition(
            claim.request_id,
            write.status,
            write.detail,
            write.fields,
            keep_fields=write.keep,
            data=write.data,
            only_from=SENDING_ONLY,
            claim=claim,
            check_at=write.check_at,
            keep_check_at=write.keep_check_at,
            history=write.history,
            more=MoreChanges(removing=write.removes, counting=write.counts),
        ):
            # A delivery report moved it on meanwhile, or our lease ran out and another took it over.
            logger.info("state write refused: the message moved on meanwhile", extra={"target": write.status})
