"""The person's refusals (Zalo -141: no ZNS from this OA; -139: not this type of ZNS), kept so that the
relay does not send them again: what a report teaches, the records' keys, and which record holds a
message back. Pure: the records live in ThrottleTable (zns_relay.store.suppressions).

Zalo's -139 names a type of message, whose tag the report does not carry: the record is keyed by the
template (TempID) the person refused, the closest the relay knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zns_relay.models.zalo_rules import ZaloRefusal, classify

KEY_PREFIX = "suppress"
_SEPARATOR = "#"


@dataclass(frozen=True)
class Suppression:
    """One refusal: no ZNS from `oa_id` to `phone` (of template `temp_id` only, for a -139)."""

    oa_id: str
    phone: str
    temp_id: str | None  # None: every template of the OA (-141)
    code: int  # Zalo's: -141 or -139
    since: str  # ISO 8601, when the relay learnt it
    request_id: str  # the message whose report told it

    @property
    def key(self) -> str:
        return suppression_key(self.oa_id, self.phone, self.temp_id)

    def reason(self) -> str:
        """Why a message is not sent, for its status and history."""
        what = "this OA" if self.temp_id is None else f"template {self.temp_id} of this OA"
        return f"not sent: the person refused ZNS from {what} (Zalo {self.code}) on {self.since[:10]}"


def suppression_key(oa_id: str, phone: str, temp_id: str | None = None) -> str:
    """The record's `limiter` in ThrottleTable: `suppress#<oa_id>#<phone>[#<temp_id>]`."""
    parts = [KEY_PREFIX, oa_id, phone, *([temp_id] if temp_id is not None else [])]
    return _SEPARATOR.join(parts)


def keys_for(oa_id: str, phone: str, temp_id: str) -> tuple[str, str]:
    """The two records that can hold a message back: the OA's (-141) and its template's (-139)."""
    return suppression_key(oa_id, phone), suppression_key(oa_id, phone, temp_id)


def suppression_from(
    code: int | None,
    *,
    oa_id: str | None,
    phone: str | None,
    temp_id: str | None,
    request_id: str,
    since: str,
) -> Suppression | None:
    """The record a failed ZNS message's Zalo code teaches, or None (not the person's refusal, or a
    message without the OA, phone or template to key it by)."""
    refusal = classify(code)
    if code is None or refusal not in (ZaloRefusal.REFUSED_OA, ZaloRefusal.REFUSED_TYPE):
        return None
    if not oa_id or not phone or (refusal is ZaloRefusal.REFUSED_TYPE and not temp_id):
        return None
    scope = None if refusal is ZaloRefusal.REFUSED_OA else temp_id
    return Suppression(oa_id, phone, scope, code, since, request_id)


def holding_back(found: Iterable[Suppression], oa_id: str, phone: str, temp_id: str) -> Suppression | None:
    """The record that stops a message to `phone` from `oa_id` with `temp_id`: the OA's refusal before
    the template's; None when none applies."""
    applying = [
        record
        for record in found
        if record.oa_id == oa_id and record.phone == phone and record.temp_id in (None, temp_id)
    ]
    return min(applying, key=lambda record: record.temp_id is not None, default=None)
