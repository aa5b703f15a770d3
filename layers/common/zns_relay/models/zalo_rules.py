"""Zalo's refusals, as eSMS reports them in a delivery report's `error_info` (Zalo's ZNS error table:
https://zalo.cloud/zns/guidelines/handle-error-code; docs/reliability.md says what the relay does).

Some refusals are the message's fault and end it FAILED as any other (-108 phone, -118 no Zalo, ...).
These are not: they are Zalo's rules for now (the night window, the daily quotas), the template's state,
a transient fault on the OA's side, or the person's choice. The relay classes them here, once.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
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


# Refusals that say "not now": the message is DEFERRED and sent again when Zalo will take it.
DEFERRABLE = frozenset(
    {ZaloRefusal.NIGHT_WINDOW, ZaloRefusal.OA_QUOTA, ZaloRefusal.TEMPLATE_QUOTA, ZaloRefusal.TRANSIENT}
)
# Refusals that say "not now" for the whole OA or template, until an hour: zns_relay.models.pause.
PAUSING = DEFERRABLE - {ZaloRefusal.TRANSIENT}
# A transient fault on Zalo's side (-124, -100) is tried again this long after its report.
TRANSIENT_RETRY_SECONDS = 300
# A night refusal learnt while our clock says day (a report applied late, or Zalo's clock not ours) is
# tried again this long after: soon, but not so soon that a night our clock does not see repeats it.
DAYTIME_NIGHT_RETRY_SECONDS = 3600
# Zalo's day is taken to be Vietnam's (UTC+7, no daylight saving): its night window ends at 06:00 and
# its quotas are daily ("Total quota allowed to send in day", eSMS's ZNS/GetQuota:
# https://developers.esms.vn/en/esms-api/retrive-and-register-functions/get-the-daily-quota-of-oa), so
# taken to reset at midnight. Neither hour is confirmed by Zalo: a message sent too early is refused and
# deferred again, up to MAX_DEFERRALS.
VIETNAM = timezone(timedelta(hours=7), "ICT")
NIGHT_ENDS, NIGHT_STARTS = timedelta(hours=6), timedelta(hours=22)
# Deferred messages go again over this much time after the hour, each at its own moment (by its
# RequestId): a night's campaign does not meet Zalo in one burst at 06:00.
SPREAD_SECONDS = 900
# A message Zalo keeps deferring (a quota that never comes back, a window not where we think), or that
# Zalo's pauses keep holding, ends FAILED.
MAX_DEFERRALS = 3
# A deferred message is still valid this long after its next attempt, or it is not deferred: the
# reconciler's schedule (up to 30 minutes) and the send come on top of the attempt's time.
VALIDITY_MARGIN_SECONDS = 1800
MAX_ESMS_REQUEST_ID = 50  # eSMS's RequestId: "Maximum length 50 characters" (SendZaloMessage_V5_post)
# How an attempt's RequestId ends (attempt_request_id): reserved, no producer's RequestId ends so
# (zns_relay.models.contract), so that eSMS's 124 for one can only be about an attempt of ours.
ATTEMPT_SUFFIX = re.compile(r"\.z[0-9]+$")


def opens_at(refusal: ZaloRefusal, now: int) -> int:
    """When Zalo takes again what it refused for `refusal` at `now` (epoch seconds): the end of the
    night window for a night-restricted template (an hour on when that is learnt by day), the next
    Vietnam midnight for a quota, a few minutes on for a transient fault."""
    if refusal is ZaloRefusal.TRANSIENT:
        return now + TRANSIENT_RETRY_SECONDS
    local = datetime.fromtimestamp(now, VIETNAM)
    midnight = datetime(local.year, local.month, local.day, tzinfo=VIETNAM)
    if refusal is ZaloRefusal.NIGHT_WINDOW:
        if NIGHT_ENDS <= local - midnight < NIGHT_STARTS:
            return now + DAYTIME_NIGHT_RETRY_SECONDS
        opens = midnight + NIGHT_ENDS
        if local >= opens:  # refused in the evening: the window ends tomorrow morning
            opens += timedelta(days=1)
    else:
        opens = midnight + timedelta(days=1)
    return int(opens.astimezone(UTC).timestamp())


def period_start(refusal: ZaloRefusal, now: int) -> int | None:
    """When the period Zalo refused in began, for a refusal learnt at `now`: today's Vietnam midnight for
    a quota, tonight's 22:00 for the night window (None by day, or for a transient fault). A report of an
    attempt sent before it is late: its period is over, and Zalo may take the message now."""
    local = datetime.fromtimestamp(now, VIETNAM)
    midnight = datetime(local.year, local.month, local.day, tzinfo=VIETNAM)
    if refusal in (ZaloRefusal.OA_QUOTA, ZaloRefusal.TEMPLATE_QUOTA):
        return int(midnight.timestamp())
    if refusal is not ZaloRefusal.NIGHT_WINDOW or NIGHT_ENDS <= local - midnight < NIGHT_STARTS:
        return None
    night = (
        midnight + NIGHT_STARTS
        if local - midnight >= NIGHT_STARTS
        else midnight - timedelta(days=1) + NIGHT_STARTS
    )
    return int(night.timestamp())


def next_attempt_at(opens: int, request_id: str) -> int:
    """When a message deferred until `opens` goes again: its own moment within SPREAD_SECONDS."""
    return opens + int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:4], "big") % SPREAD_SECONDS


def attempt_request_id(request_id: str, deferrals: int) -> str:
    """The RequestId eSMS gets for a message's attempt after `deferrals` deferrals: eSMS refuses a
    RequestId it saw in the last 24 hours (its 124), so each attempt after a deferral has its own,
    derived from the producer's and within eSMS's 50 characters."""
    if deferrals == 0:
        return request_id
    suffix = f".z{deferrals + 1}"
    if len(request_id) + len(suffix) <= MAX_ESMS_REQUEST_ID:
        return request_id + suffix
    digest = hashlib.sha256(request_id.encode()).hexdigest()[: MAX_ESMS_REQUEST_ID - len(suffix) - 1]
    return f"z{digest}{suffix}"


def vietnam_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, VIETNAM).strftime("%Y-%m-%d %H:%M Vietnam time")
