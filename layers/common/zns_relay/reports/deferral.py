"""Zalo's "not now" (its night window, a daily quota: zns_relay.models.zalo_rules.DEFERRABLE) does not
end a message: its report DEFERS it, and the reconciler has it sent again when Zalo will take it.

A message is deferred only if it can be sent again: its TempData is sealed in its item (a ZNS message,
not a sandbox one: zns_relay.sender.temp_data_seal) and it was deferred fewer than MAX_DEFERRALS times.
One whose validity ends before Zalo would take it ends EXPIRED, unsent. Either is one conditional write
that holds these bounds beside the report's own match (the reconciler's role may not read whole
items); a message out of bounds is left to the report, which ends it FAILED as any refusal.
"""

from __future__ import annotations

from typing import Any

from zns_relay.models.state import ALLOWED_SOURCES, MessageStatus, new_callback_nonce
from zns_relay.models.zalo_rules import MAX_DEFERRALS, ZaloRefusal, next_attempt_at, vietnam_time
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import Written
from zns_relay.store.writes import Condition, ReportMatch

# What belonged to the refused attempt: the next one has its own SMSID, window and claim.
ENDED_WITH_THE_ATTEMPT = ("sms_id", "accepted_at", "uncertain_since", "retry_until", "claim_token")
RESENDABLE = (
    "attribute_exists(sealed_temp_data) AND (attribute_not_exists(deferrals) OR deferrals < :max_deferrals)"
)
VALID_THEN = "(attribute_not_exists(valid_until) OR valid_until > :next_attempt)"
SOURCES = ALLOWED_SOURCES[MessageStatus.DEFERRED]
# A write refused for these may have been refused by the bounds alone: the next write is tried.
OUT_OF_BOUNDS = frozenset({Written.REFUSED, Written.UNSETTLED})


class Deferrals:
    def __init__(self, store: MessageStore) -> None:
        self._store = store

    def apply(
        self,
        request_id: str,
        refusal: ZaloRefusal,
        reason: str,
        *,
        match: ReportMatch,
        data: dict[str, Any],
        now: int,
    ) -> tuple[MessageStatus, Written] | None:
        """The message DEFERRED (or EXPIRED) for Zalo's refusal `reason`; None when it cannot wait."""
        at = next_attempt_at(refusal, now, request_id)
        values = {":max_deferrals": MAX_DEFERRALS, ":next_attempt": at}
        fields = {
            "error": reason,
            "next_attempt_at": at,
            "callback_nonce": new_callback_nonce(),  # the refused attempt's CallbackUrl changes nothing more
        }
        deferred = self._store.transition(
            request_id,
            MessageStatus.DEFERRED,
            f"{reason}: deferred, sent again from {vietnam_time(at)}",
            fields,
            data={**data, "next_attempt_at": at},
            check_at=at,
            match=match,
            removing=ENDED_WITH_THE_ATTEMPT,
            counting=("deferrals",),
            also=Condition(f"{RESENDABLE} AND {VALID_THEN}", values),
        )
        if deferred not in OUT_OF_BOUNDS:
            return MessageStatus.DEFERRED, deferred
        detail = f"not sent: Zalo takes it only from {vietnam_time(at)}, after its validity (ValidUntil)"
        expired = self._store.transition(
            request_id,
            MessageStatus.EXPIRED,
            detail,
            {"error": detail},
            data=data,
            only_from=SOURCES,
            match=match,
            also=Condition(f"{RESENDABLE} AND NOT {VALID_THEN}", values),
        )
        return (MessageStatus.EXPIRED, expired) if expired not in OUT_OF_BOUNDS else None
