"""Zalo's refusals, as eSMS reports them in a delivery report's `error_info` (Zalo's ZNS error table:
https://zalo.cloud/zns/guidelines/handle-error-code; docs/reliability.md says what the relay does).

Some refusals are the message's fault and end it FAILED as any other (-108 phone, -118 no Zalo, ...).
These are not: they are Zalo's rules for now (the night window, the daily quotas), the template's state,
a transient fault on the OA's side, or the person's choice. The relay classes them here, once.
"""

from __future__ import annotations

from enum import StrEnum


class ZaloRefusal(StrEnum):
    NIGHT_WINDOW = "night_window"  # -133: this template may not be sent at night (22:00-06:00)
    OA_QUOTA = "oa_quota"  # -144: the OA is over its daily quota (resets at midnight)
    TEMPLATE_QUOTA = "template_quota"  # -147: the template is over its daily limit
    REFUSED_OA = "refused_oa"  # -141: the person refused ZNS from this OA
    REFUSED_TYPE = "refused_type"  # -139: the person refused this type of ZNS
    TEMPLATE_UNAVAILABLE = "template_unavailable"  # -131 not approved, -146 disabled for low quality
    TRANSIENT = "transient"  # -124 the OA's access token, -100 unknown: try again within the window


REFUSALS: dict[int, ZaloRefusal] = {
    -133: ZaloRefusal.NIGHT_WINDOW,
    -144: ZaloRefusal.OA_QUOTA,
    -147: ZaloRefusal.TEMPLATE_QUOTA,
    -141: ZaloRefusal.REFUSED_OA,
    -139: ZaloRefusal.REFUSED_TYPE,
    -131: ZaloRefusal.TEMPLATE_UNAVAILABLE,
    -146: ZaloRefusal.TEMPLATE_UNAVAILABLE,
    -124: ZaloRefusal.TRANSIENT,
    -100: ZaloRefusal.TRANSIENT,
}
# Refusals that say "never to this person": further messages to them are not sent.
BY_THE_PERSON = frozenset({ZaloRefusal.REFUSED_OA, ZaloRefusal.REFUSED_TYPE})


def classify(code: int | None) -> ZaloRefusal | None:
    """The refusal a Zalo error code says, or None for one that is the message's own fault (or none)."""
    return None if code is None else REFUSALS.get(code)
