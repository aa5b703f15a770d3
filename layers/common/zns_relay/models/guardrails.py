"""What the guardrails check reads of an OA (its ZNS quota and quality, as eSMS answers them) and what it
makes of them: the metrics to publish and the findings worth an operator's attention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Quality(StrEnum):
    """ZNS/GetQuality's levels (devesms/gitbook_esms_for_develop_v2:
    esms-api/ham-truy-xuat-va-dang-ky/ham-kiem-tra-chat-luong-oa.md); UNDEFINED: the OA sent no ZNS in
    the window judged, or eSMS answered a level it does not document."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    UNDEFINED = "UNDEFINED"

    @classmethod
    def of(cls, value: Any) -> Quality:
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            return cls.UNDEFINED


@dataclass(frozen=True)
class ZnsQuota:
    """ZNS/GetQuota's answer: today's quota and what is left of it (None when the answer holds no whole
    number there), and every counter as eSMS names it (the promotion quotas too), for people to read."""

    daily: int | None
    remaining: int | None
    counters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OaQuality:
    """ZNS/GetQuality's answer: the OA's quality over the last 48 hours (current) and the last 7 days."""

    current: Quality
    seven_days: Quality


@dataclass(frozen=True)
class OaReading:
    """What one run learnt of one OA: an answer is None when eSMS was not asked or did not answer, and
    `failures` then says why (one line per question)."""

    oa_id: str
    quota: ZnsQuota | None = None
    quality: OaQuality | None = None
    failures: tuple[str, ...] = ()


class Unit(StrEnum):
    """CloudWatch's units, as the metrics here use them."""

    COUNT = "Count"
    PERCENT = "Percent"


@dataclass(frozen=True)
class Measurement:
    """One metric to publish: per OA (the OaId dimension) or, with `oa_id` None, the deployment's."""

    name: str
    unit: Unit
    value: float
    oa_id: str | None = None


class FindingKind(StrEnum):
    QUOTA_LOW = "quota_low"
    QUALITY_LOW = "quality_low"
    CHECK_FAILED = "check_failed"


@dataclass(frozen=True)
class Finding:
    """Something about one OA an operator should hear of (the alarms say it too, from the metrics)."""

    kind: FindingKind
    oa_id: str
    detail: str


@dataclass(frozen=True)
class GuardrailsReport:
    measurements: tuple[Measurement, ...] = ()
    findings: tuple[Finding, ...] = ()
