"""The guardrails' decisions, pure: what eSMS's answers about each OA become (the metrics to publish and
the findings to log). The alarms watch the deployment-wide metrics: LowestZnsQuotaRemainingPercent
(ZnsQuotaLowAlarm) and LowQualityOas (ZnsQualityLowAlarm).

A question eSMS did not answer publishes nothing about what it asked (no quota, no quality): an alarm
never changes state on a failed check (TreatMissingData: ignore), and GuardrailCheckFailed counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zns_relay.models.guardrails import (
    Finding,
    FindingKind,
    GuardrailsReport,
    Measurement,
    OaQuality,
    OaReading,
    Quality,
    Unit,
    ZnsQuota,
)

QUOTA_REMAINING = "ZnsQuotaRemaining"
QUOTA_REMAINING_PERCENT = "ZnsQuotaRemainingPercent"
QUALITY = "ZnsQuality"
LOWEST_QUOTA_REMAINING_PERCENT = "LowestZnsQuotaRemainingPercent"
LOW_QUALITY_OAS = "LowQualityOas"
CHECK_FAILED = "GuardrailCheckFailed"
METRIC_NAMES = frozenset(
    {QUOTA_REMAINING, QUOTA_REMAINING_PERCENT, QUALITY, LOWEST_QUOTA_REMAINING_PERCENT, LOW_QUALITY_OAS,
     CHECK_FAILED}
)  # fmt: skip
# ZnsQuality's value per level; UNDEFINED (no ZNS sent lately, or a level eSMS does not document) has none.
QUALITY_SCORES = {Quality.HIGH: 3, Quality.MEDIUM: 2, Quality.LOW: 1}


def quota_remaining_percent(daily: int, remaining: int) -> float:
    """What is left of today's quota, 0 to 100; a quota of 0 leaves nothing to send."""
    if daily <= 0:
        return 0.0
    return min(100.0, max(0.0, remaining * 100.0 / daily))


def evaluate(readings: Sequence[OaReading], quota_alarm_percent: float) -> GuardrailsReport:
    """The run's metrics and findings. The deployment-wide ones are published only when at least one OA
    answered the question they sum up; GuardrailCheckFailed whenever there was an OA to ask."""
    measurements: list[Measurement] = []
    findings: list[Finding] = []
    percents: list[float] = []
    qualities: list[Quality] = []
    failed = 0
    for reading in readings:
        failures = [*reading.failures, *_unusable_answers(reading)]
        failed += len(failures)
        findings.extend(Finding(FindingKind.CHECK_FAILED, reading.oa_id, failure) for failure in failures)
        quota, quality = reading.quota, reading.quality
        if quota is not None and quota.daily is not None and quota.remaining is not None:
            percent = quota_remaining_percent(quota.daily, quota.remaining)
            percents.append(percent)
            measurements.extend(_quota(reading.oa_id, quota.remaining, percent))
            if percent < quota_alarm_percent:
                findings.append(_quota_low(reading.oa_id, quota, percent, quota_alarm_percent))
        if quality is not None:
            qualities.append(quality.current)
            measurements.extend(_quality(reading.oa_id, quality.current))
            if quality.current is Quality.LOW:
                findings.append(_quality_low(reading.oa_id, quality))
    if percents:
        measurements.append(Measurement(LOWEST_QUOTA_REMAINING_PERCENT, Unit.PERCENT, min(percents)))
    if qualities:
        low = sum(quality is Quality.LOW for quality in qualities)
        measurements.append(Measurement(LOW_QUALITY_OAS, Unit.COUNT, low))
    if readings:
        measurements.append(Measurement(CHECK_FAILED, Unit.COUNT, failed))
    return GuardrailsReport(tuple(measurements), tuple(findings))


def _unusable_answers(reading: OaReading) -> Iterable[str]:
    quota = reading.quota
    if quota is not None and (quota.daily is None or quota.remaining is None):
        yield "ZNS/GetQuota answered without a number in DailyQuota or RemainingQuota"


def _quota(oa_id: str, remaining: int, percent: float) -> list[Measurement]:
    return [
        Measurement(QUOTA_REMAINING, Unit.COUNT, max(0, remaining), oa_id),
        Measurement(QUOTA_REMAINING_PERCENT, Unit.PERCENT, percent, oa_id),
    ]


def _quality(oa_id: str, current: Quality) -> list[Measurement]:
    score = QUALITY_SCORES.get(current)
    return [] if score is None else [Measurement(QUALITY, Unit.COUNT, score, oa_id)]


def _quota_low(oa_id: str, quota: ZnsQuota, percent: float, threshold: float) -> Finding:
    detail = f"{quota.remaining} of {quota.daily} ZNS left today ({percent:.1f}%, under {threshold:g}%)"
    return Finding(FindingKind.QUOTA_LOW, oa_id, detail)


def _quality_low(oa_id: str, quality: OaQuality) -> Finding:
    detail = f"quality LOW over the last 48 hours ({quality.seven_days} over 7 days)"
    return Finding(FindingKind.QUALITY_LOW, oa_id, detail)
