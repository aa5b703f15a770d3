"""What eSMS's answers about the watched OAs become: the metrics the alarms watch, and the findings."""

from __future__ import annotations

import pytest

from zns_relay.guardrails.evaluation import evaluate, quota_remaining_percent
from zns_relay.models.guardrails import (
    FindingKind,
    GuardrailsReport,
    Measurement,
    OaQuality,
    OaReading,
    Quality,
    Unit,
    ZnsQuota,
)

OA = "1397492183140006179"
OTHER = "4097311281936189049"
HIGH = OaQuality(Quality.HIGH, Quality.HIGH)


def quota(daily: int | None, remaining: int | None) -> ZnsQuota:
    return ZnsQuota(daily, remaining, {"DailyQuota": daily, "RemainingQuota": remaining})


def values(report: GuardrailsReport) -> dict[tuple[str, str | None], float]:
    return {(m.name, m.oa_id): m.value for m in report.measurements}


def test_each_oa_gets_its_quota_and_quality_and_the_deployment_its_lowest_and_low_count() -> None:
    # Given two OAs: one with a fifth of its quota left and quality MEDIUM, one nearly untouched and LOW
    readings = [
        OaReading(OA, quota(5000, 1000), OaQuality(Quality.MEDIUM, Quality.HIGH)),
        OaReading(OTHER, quota(20000, 19990), OaQuality(Quality.LOW, Quality.MEDIUM)),
    ]

    report = evaluate(readings, quota_alarm_percent=20)

    # Then each OA's metrics carry its OaId, and the alarms' ones sum the deployment up
    assert values(report) == {
        ("ZnsQuotaRemaining", OA): 1000,
        ("ZnsQuotaRemainingPercent", OA): 20.0,
        ("ZnsQuality", OA): 2,
        ("ZnsQuotaRemaining", OTHER): 19990,
        ("ZnsQuotaRemainingPercent", OTHER): 99.95,
        ("ZnsQuality", OTHER): 1,
        ("LowestZnsQuotaRemainingPercent", None): 20.0,
        ("LowQualityOas", None): 1,
        ("GuardrailCheckFailed", None): 0,
    }
    units = {m.name: m.unit for m in report.measurements}
    assert units["LowestZnsQuotaRemainingPercent"] is Unit.PERCENT
    assert units["LowQualityOas"] is Unit.COUNT
    # And 20% left is not under a 20% threshold: only the LOW quality is a finding
    assert [(f.kind, f.oa_id) for f in report.findings] == [(FindingKind.QUALITY_LOW, OTHER)]


@pytest.mark.parametrize(
    ("daily", "remaining", "percent"),
    [(5000, 5000, 100.0), (5000, 999, 19.98), (5000, 0, 0.0), (0, 0, 0.0), (100, 150, 100.0), (100, -3, 0.0)],
)
def test_the_percent_left_stays_between_0_and_100_and_a_zero_quota_leaves_nothing(
    daily: int, remaining: int, percent: float
) -> None:
    assert quota_remaining_percent(daily, remaining) == pytest.approx(percent)


def test_a_quota_under_the_threshold_is_a_finding_that_names_the_oa_and_the_numbers() -> None:
    report = evaluate([OaReading(OA, quota(5000, 999), HIGH)], quota_alarm_percent=20)

    [finding] = report.findings
    assert (finding.kind, finding.oa_id) == (FindingKind.QUOTA_LOW, OA)
    assert "999 of 5000" in finding.detail
    assert values(report)[("LowestZnsQuotaRemainingPercent", None)] == pytest.approx(19.98)


def test_an_undefined_quality_is_not_a_level_and_is_not_low() -> None:
    report = evaluate([OaReading(OA, quota(10, 10), OaQuality(Quality.UNDEFINED, Quality.LOW))], 20)

    assert ("ZnsQuality", OA) not in values(report)
    assert values(report)[("LowQualityOas", None)] == 0
    assert report.findings == ()


def test_a_failed_question_publishes_nothing_of_what_it_asked_and_counts_as_a_failed_check() -> None:
    # Given one OA eSMS did not answer at all, and one whose quality alone it answered
    readings = [
        OaReading(
            OA, failures=("ZNS/GetQuota: eSMS answered HTTP 503", "ZNS/GetQuality: eSMS answered HTTP 503")
        ),
        OaReading(OTHER, quality=HIGH, failures=("ZNS/GetQuota: eSMS did not answer in time",)),
    ]

    report = evaluate(readings, 20)

    # Then no quota metric at all (the quota alarm keeps its state), the quality of the one answered
    assert values(report) == {
        ("ZnsQuality", OTHER): 3,
        ("LowQualityOas", None): 0,
        ("GuardrailCheckFailed", None): 3,
    }
    assert [f.kind for f in report.findings] == [FindingKind.CHECK_FAILED] * 3


def test_a_quota_answer_without_numbers_is_a_failed_check_not_an_empty_quota() -> None:
    report = evaluate([OaReading(OA, quota(None, 42), HIGH)], 20)

    assert not {name for name, _ in values(report)} & {"ZnsQuotaRemaining", "LowestZnsQuotaRemainingPercent"}
    assert values(report)[("GuardrailCheckFailed", None)] == 1
    assert [f.kind for f in report.findings] == [FindingKind.CHECK_FAILED]


def test_nothing_to_watch_publishes_nothing() -> None:
    assert evaluate([], 20) == GuardrailsReport()


@pytest.mark.parametrize(
    ("answered", "level"),
    [("high", Quality.HIGH), (" LOW ", Quality.LOW), ("MEDIUM", Quality.MEDIUM), ("", Quality.UNDEFINED),
     (None, Quality.UNDEFINED), ("EXCELLENT", Quality.UNDEFINED)],
)  # fmt: skip
def test_a_quality_level_esms_does_not_document_reads_as_undefined(answered: object, level: Quality) -> None:
    assert Quality.of(answered) is level


def test_measurements_are_per_oa_or_deployment_wide() -> None:
    report = evaluate([OaReading(OA, quota(10, 1), HIGH)], 20)
    per_oa = {m.name for m in report.measurements if m.oa_id == OA}
    wide = {m.name for m in report.measurements if m.oa_id is None}
    assert per_oa == {"ZnsQuotaRemaining", "ZnsQuotaRemainingPercent", "ZnsQuality"}
    assert wide == {"LowestZnsQuotaRemainingPercent", "LowQualityOas", "GuardrailCheckFailed"}
    assert Measurement("LowQualityOas", Unit.COUNT, 0) in report.measurements
