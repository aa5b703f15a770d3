"""Zalo's "not now" (its night window, a daily quota: zns_relay.models.zalo_rules.DEFERRABLE) does not
end a message: its report DEFERS it, and the reconciler has it sent again when Zalo will take it.

A message is deferred only if it can be sent again: its TempData is sealed in its item (a ZNS message,
not a sandbox one: zns_relay.sender.temp_data_seal) and it was deferred fewer than MAX_DEFERRALS times.
One whose validity ends before Zalo would take it ends FAILED at once, saying so: its SMS fallback, if
it asks for one, still goes out in time. Either is one conditional write
that holds these bounds beside the report's own match (the reconciler's role may not read whole
items); a message out of bounds is left to the report, which ends it FAILED as any refusal. The
refusal also pauses the message's OA or template (zns_relay.models.pause), so that the messages after
it wait without an eSMS call.
"""

from __future__ import annotations

from typing import Any

from zns_relay.config.observability import count, logger
from zns_relay.models.pause import pause_from
from zns_relay.models.state import ALLOWED_SOURCES, MessageStatus, new_callback_nonce
from zns_relay.models.zalo_rules import (
    MAX_DEFERRALS,
    VALIDITY_MARGIN_SECONDS,
    classify,
    next_attempt_at,
    opens_at,
    period_start,
    vietnam_time,
)
from zns_relay.store.messages import MessageStore
from zns_relay.store.pauses import Pauses
from zns_relay.store.records import Written
from zns_relay.store.writes import MoreChanges, ReportMatch

# What belonged to the refused attempt: the next one has its own SMSID, window and claim.
ENDED_WITH_THE_ATTEMPT = ("sms_id", "accepted_at", "uncertain_since", "retry_until", "claim_token")
RESENDABLE = (
    "attribute_exists(sealed_temp_data) AND (attribute_not_exists(deferrals) OR deferrals < :max_deferrals)"
)
# Still valid when the next attempt goes, with the margin the reconciler's schedule and the send need.
VALID_THEN = "(attribute_not_exists(valid_until) OR valid_until > :due_with_margin)"
# Its refused attempt went in the refusal's period (an item accepted without our knowing when is taken
# for one that did).
SENT_IN_PERIOD = "(attribute_not_exists(accepted_at) OR accepted_at >= :period_start)"
SOURCES = ALLOWED_SOURCES[MessageStatus.DEFERRED]
# A write refused for these may have been refused by the bounds alone: the next write is tried.
OUT_OF_BOUNDS = frozenset({Written.REFUSED, Written.UNSETTLED})


def _bounds(at: int) -> dict[str, Any]:
    return {":max_deferrals": MAX_DEFERRALS, ":due_with_margin": at + VALIDITY_MARGIN_SECONDS}


class Deferrals:
    def __init__(self, store: MessageStore, pauses: Pauses) -> None:
        self._store = store
        self._pauses = pauses

    def apply(
        self,
        request_id: str,
        code: int,
        reason: str,
        *,
        match: ReportMatch,
        data: dict[str, Any],
        now: int,
    ) -> tuple[MessageStatus, Written] | None:
        """The message DEFERRED for Zalo's refusal `code` (one of DEFERRABLE), told in words by `reason`,
        or FAILED when too late to wait; None when it cannot be sent again. A refusal of the current
        period also pauses its OA or template (zns_relay.models.pause): the messages after it wait
        unsent. One reported late, of an attempt sent before the period began (a report applied after
        midnight, say), is over: the message goes again soon, and nothing is paused."""
        refusal = classify(code)
        assert refusal is not None
        since = period_start(refusal, now)
        at = next_attempt_at(opens_at(refusal, now), request_id)
        item: dict[str, Any] = {}
        deferred = self._defer(request_id, reason, at, since, current=True, match=match, data=data, item=item)
        if deferred not in OUT_OF_BOUNDS:
            self._pause(item, code, request_id, now)
            return MessageStatus.DEFERRED, deferred
        if since is not None:
            soon = next_attempt_at(now, request_id)
            late = self._defer(
                request_id, reason, soon, since, current=False, match=match, data=data, item=item
            )
            if late not in OUT_OF_BOUNDS:
                return MessageStatus.DEFERRED, late
        # Too late to wait: FAILED now, while it is still valid, so that its SMS fallback (`failed`, or
        # the code's own trigger) still reaches the person in time.
        detail = f"{reason}: Zalo takes it only from {vietnam_time(at)}, after its validity (ValidUntil)"
        failed = self._store.transition(
            request_id,
            MessageStatus.FAILED,
            detail,
            {"error": detail},
            data=data,
            only_from=SOURCES,
            match=match,
            written_item=item,
            more=MoreChanges(condition=f"{RESENDABLE} AND NOT {VALID_THEN}", values=_bounds(at)),
        )
        if failed in OUT_OF_BOUNDS:
            return None
        self._pause(item, code, request_id, now)
        return MessageStatus.FAILED, failed

    def _defer(
        self,
        request_id: str,
        reason: str,
        at: int,
        since: int | None,
        *,
        current: bool,
        match: ReportMatch,
        data: dict[str, Any],
        item: dict[str, Any],
    ) -> Written:
        """DEFERRED until `at`, if the message can be sent again by then and its attempt was sent in
        the refusal's period (`current`, or when there is none) or before it (not `current`)."""
        condition = f"{RESENDABLE} AND {VALID_THEN}"
        values = _bounds(at)
        if since is not None:
            condition += f" AND {'' if current else 'NOT '}{SENT_IN_PERIOD}"
            values[":period_start"] = since
        late = "" if current else " (the refusal's period was over when it was reported)"
        return self._store.transition(
            request_id,
            MessageStatus.DEFERRED,
            f"{reason}: deferred{late}, sent again from {vietnam_time(at)}",
            {
                "error": reason,
                "next_attempt_at": at,
                "callback_nonce": new_callback_nonce(),  # the refused attempt's URL changes nothing more
            },
            data={**data, "next_attempt_at": at},
            check_at=at,
            match=match,
            written_item=item,
            more=MoreChanges(
                removing=ENDED_WITH_THE_ATTEMPT,
                counting=("deferrals",),
                appending={"refused_sms_ids": [match.sms_id]},  # its late reports change nothing
                condition=condition,
                values=values,
            ),
        )

    def _pause(self, item: dict[str, Any], code: int, request_id: str, now: int) -> None:
        """Pause the written message's OA or template (an item is empty unless the write applied)."""
        pause = pause_from(
            code, oa_id=item.get("oa_id"), temp_id=item.get("temp_id"), now=now, request_id=request_id
        )
        if pause is not None:
            self._pauses.record(pause)
            count("ZaloPauses")
            logger.info("Zalo paused sending for now", extra={"zalo_code": code, "until": pause.until})
