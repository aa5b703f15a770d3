"""Zalo's sending rules: the refusals eSMS accepts a ZNS for (CodeResult 100) and then reports.

eSMS passes an accepted ZNS to Zalo, which may refuse it for reasons that are not the message's fault;
the refusal comes back as the delivery report's error (RULE_REFUSALS). eSMS documents no send-time code
for any of them (its error table, esms-api/bang-ma-loi.md in devesms/gitbook_esms_for_develop_v2, has
789 and 790 for templates and nothing on a template's status, the night or quotas), so each is a report.

Zalo checks, in this order (the first that applies is the refusal):
1. the template's state: PENDING_REVIEW or REJECT -131 (not approved), DISABLE -146 (low quality);
2. the night: a template in night_restricted_templates, from 22:00 to 06:00 Vietnam time, -133;
3. the quotas of the Vietnam day: the OA's daily_quota -144, then the template's daily limit -147;
4. the person: a number in refusing_phones, -141 (refused this OA) or -139 (refused this type).
Only a ZNS that passes them all counts against the quotas. Vietnam time (UTC+7, no daylight saving) is
the simulator's clock plus vietnam_clock_offset_seconds; the day, and so the quotas, turn at 00:00.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

from local.esms_sim.config import SimulatorConfig
from local.esms_sim.validation import ZnsSend

VIETNAM = timezone(timedelta(hours=7), "ICT")
NIGHT_STARTS_HOUR, NIGHT_ENDS_HOUR = 22, 6
NOT_APPROVED = frozenset({"PENDING_REVIEW", "REJECT"})
LOW_QUALITY = "DISABLE"


def vietnam_time(now: float, config: SimulatorConfig) -> datetime:
    """The simulator's Vietnam time for its clock's `now` (seconds since the epoch)."""
    return datetime.fromtimestamp(now + config.vietnam_clock_offset_seconds, UTC).astimezone(VIETNAM)


def is_night(moment: datetime) -> bool:
    """Zalo's night, 22:00 to 06:00 Vietnam time: 22:00:00 is night, 06:00:00 is day."""
    hour = moment.astimezone(VIETNAM).hour
    return hour >= NIGHT_STARTS_HOUR or hour < NIGHT_ENDS_HOUR


class DailyCounts:
    """The ZNS Zalo took on one Vietnam day, per OA and per template; a new day starts from zero."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._by_oa: Counter[str] = Counter()
        self._by_template: Counter[str] = Counter()

    def oa_used(self, day: date, oa_id: str) -> int:
        self._turn_to(day)
        return self._by_oa[oa_id]

    def template_used(self, day: date, temp_id: str) -> int:
        self._turn_to(day)
        return self._by_template[temp_id]

    def count(self, day: date, oa_id: str, temp_id: str) -> None:
        self._turn_to(day)
        self._by_oa[oa_id] += 1
        self._by_template[temp_id] += 1

    def clear(self) -> None:
        self._day = None
        self._by_oa.clear()
        self._by_template.clear()

    def _turn_to(self, day: date) -> None:
        if day != self._day:
            self.clear()
            self._day = day


def refusal(send: ZnsSend, moment: datetime, counts: DailyCounts, config: SimulatorConfig) -> str | None:
    """The RULE_REFUSALS outcome Zalo refuses this ZNS with at `moment` (Vietnam time), in the order the
    module docstring gives; None when Zalo takes it, which then counts against the day's quotas."""
    refused = _template_state(send.temp_id, config) or _night(send.temp_id, moment, config)
    refused = refused or _quota(send.oa_id, send.temp_id, moment.date(), counts, config)
    refused = refused or _person(send.phone, config)
    if refused is None:
        counts.count(moment.date(), send.oa_id, send.temp_id)
    return refused


def _template_state(temp_id: str, config: SimulatorConfig) -> str | None:
    status = config.templates[temp_id].status
    if status in NOT_APPROVED:
        return "refused_131"
    return "refused_146" if status == LOW_QUALITY else None


def _night(temp_id: str, moment: datetime, config: SimulatorConfig) -> str | None:
    return "refused_133" if temp_id in config.night_restricted_templates and is_night(moment) else None


def _quota(oa_id: str, temp_id: str, day: date, counts: DailyCounts, config: SimulatorConfig) -> str | None:
    if counts.oa_used(day, oa_id) >= config.daily_quota:
        return "refused_144"
    limit = config.template_daily_limits.get(temp_id)
    return "refused_147" if limit is not None and counts.template_used(day, temp_id) >= limit else None


def _person(phone: str, config: SimulatorConfig) -> str | None:
    code = config.refusing_phones.get(phone)
    return None if code is None else f"refused_{-code}"
