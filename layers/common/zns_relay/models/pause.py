"""Zalo's "not now" for a whole OA or template (zns_relay.models.zalo_rules.PAUSING), kept so that
the messages after it wait without an eSMS call until Zalo takes them again: a quota refusal (-144)
pauses the OA until the next Vietnam midnight; the template's daily limit (-147) pauses the template
until then, and the night window (-133) until 06:00. Pure: the records live in ThrottleTable
(zns_relay.store.pauses), removed by its TTL a day after they end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zns_relay.models.zalo_rules import PAUSING, ZaloRefusal, classify, opens_at, vietnam_time

KEY_PREFIX = "pause"
_SEPARATOR = "#"
_WHY = {
    ZaloRefusal.OA_QUOTA: "the OA is over its daily quota",
    ZaloRefusal.TEMPLATE_QUOTA: "the template is over its daily limit",
    ZaloRefusal.NIGHT_WINDOW: "the template may not be sent at night",
}


@dataclass(frozen=True)
class Pause:
    """No ZNS from `oa_id` (of template `temp_id` only, unless None) until `until` (epoch seconds)."""

    oa_id: str
    temp_id: str | None  # None: every template of the OA (-144)
    code: int  # Zalo's: -144, -147 or -133
    until: int
    request_id: str  # the message whose report told it

    @property
    def key(self) -> str:
        return pause_key(self.oa_id, self.temp_id)

    def reason(self) -> str:
        """Why a message waits unsent, for its status and history."""
        why = _WHY.get(classify(self.code) or ZaloRefusal.OA_QUOTA, "Zalo refused it for now")
        return f"held unsent: {why} (Zalo {self.code}) until {vietnam_time(self.until)}"


def pause_key(oa_id: str, temp_id: str | None = None) -> str:
    """The record's `limiter` in ThrottleTable: `pause#<oa_id>[#<temp_id>]`."""
    return _SEPARATOR.join([KEY_PREFIX, oa_id, *([temp_id] if temp_id is not None else [])])


def keys_for(oa_id: str, temp_id: str) -> tuple[str, str]:
    """The two records that can hold a message back: its OA's and its template's."""
    return pause_key(oa_id), pause_key(oa_id, temp_id)


def pause_from(
    code: int | None, *, oa_id: str | None, temp_id: str | None, now: int, request_id: str
) -> Pause | None:
    """The pause a deferred ZNS message's Zalo code teaches at `now`, or None (not a "not now", or a
    message without the OA or template to key it by)."""
    refusal = classify(code)
    if code is None or refusal not in PAUSING or not oa_id:
        return None
    if refusal is ZaloRefusal.OA_QUOTA:
        return Pause(oa_id, None, code, opens_at(refusal, now), request_id)
    return Pause(oa_id, temp_id, code, opens_at(refusal, now), request_id) if temp_id else None


def holding(found: Iterable[Pause], oa_id: str, temp_id: str, now: int) -> Pause | None:
    """The pause that holds a message of `temp_id` from `oa_id` back at `now`: the one that ends last;
    None when none does."""
    applying = [
        pause
        for pause in found
        if pause.oa_id == oa_id and pause.temp_id in (None, temp_id) and pause.until > now
    ]
    return max(applying, key=lambda pause: pause.until, default=None)
