"""The simulator's knobs (docs/esms-simulator.md lists each with its meaning), validated and JSON-friendly."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.esms_sim.phones import local_phone
from local.esms_sim.templates import DEFAULT_TEMPLATES, ZnsTemplate, template_from_json

# Zalo's error for each failing ZNS outcome, as a failed delivery reports it (error_info, ErrorInfo).
# 1001 is eSMS's own: "the user was not online to receive the message in time" (QueryZnsStatus page).
ZNS_FAILURES: Mapping[str, tuple[int, str]] = {
    "failed_108": (-108, "Phone number is invalid"),
    "failed_114": (
        -114,
        "User is inactive, or reject the message, or using an outdated Zalo version, "
        "or other internal errors",
    ),
    "failed_118": (-118, "Zalo account does not exist or has been disabled"),
    "failed_1001": (1001, "The user was not online to receive the message in the allowed time"),
}
# Zalo's refusals under its sending rules (zalo_rules.py), by outcome name. The codes and meanings are
# Zalo's ZNS error table (reference/zalo-zns-rules.md); the English wording is the simulator's.
RULE_REFUSALS: Mapping[str, tuple[int, str]] = {
    "refused_131": (-131, "Template has not been approved"),
    "refused_133": (-133, "This template may not be sent at night (22:00-06:00 Vietnam time)"),
    "refused_139": (-139, "User refused to receive this type of ZNS"),
    "refused_141": (-141, "User refused to receive ZNS from this OA"),
    "refused_144": (-144, "OA has exceeded its daily quota"),
    "refused_146": (-146, "Template has been disabled for its low quality"),
    "refused_147": (-147, "Template has exceeded its daily limit"),
}
REFUSING_PHONE_CODES = frozenset({-141, -139})  # refusing_phones' codes: the person's own refusals
# "no_report": eSMS accepted the message but never gets its final report (at most a SendStatus 7).
NO_REPORT = "no_report"
DELIVERED = "delivered"
ZNS_OUTCOMES = frozenset({DELIVERED, NO_REPORT, *ZNS_FAILURES})
SMS_FAILED = "failed"
SMS_OUTCOMES = frozenset({DELIVERED, SMS_FAILED, NO_REPORT})
DEFAULT_BRANDNAMES = ("Baotrixemay",)  # the brandname of eSMS's SMS samples
QUALITY_LEVELS = frozenset({"HIGH", "MEDIUM", "LOW", "UNDEFINED"})  # ZNS/GetQuality's documented values


def _require_number(name: str, value: object, upper: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be at most {upper}")


def _require_count(name: str, value: object, lower: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lower:
        raise ValueError(f"{name} must be an integer of at least {lower}")


def _require_outcome(name: str, outcome: object, known: frozenset[str]) -> None:
    if outcome not in known:
        raise ValueError(f"{name}: unknown outcome {outcome!r} (known: {', '.join(sorted(known))})")


@dataclass(frozen=True)
class SimulatorConfig:
    """Behaviour knobs; rates and probabilities are in [0, 1]. The defaults: no faults, all delivered."""

    seed: int = 0
    latency_ms: float | tuple[float, float] = 0.0  # fixed, or (min, max) drawn uniformly
    # Faults, on every eSMS endpoint: one draw per request decides at most one, in this order. Drops and
    # timeouts lose the answer of a request eSMS processed (a valid send is accepted); 5xx process nothing.
    drop_rate: float = 0.0  # close the connection without an answer
    timeout_rate: float = 0.0  # sleep timeout_sleep_seconds, then answer HTTP 504
    error_rate_5xx: float = 0.0  # HTTP 500 or 503 with an HTML error page
    timeout_sleep_seconds: float = 15.0
    # Rate limits per ApiKey; 0 = unlimited. Sends (ZNS and SMS share it): a token bucket of tps_burst
    # tokens (0 = one second's worth) refilled at tps_limit a second; an empty bucket answers 160.
    tps_limit: float = 0.0
    tps_burst: int = 0
    # Status endpoints: at most this many calls in any sliding second, as eSMS documents them.
    get_callback_tps_limit: int = 20
    get_callback_max_ids: int = 200
    query_zns_status_tps_limit: int = 100
    # ZNS delivery outcome: phone_outcomes (exact number), then suffix_outcomes (longest matching ending),
    # then a weighted draw from outcomes. Names: delivered, no_report, failed_108/114/118/1001.
    outcomes: Mapping[str, float] = field(default_factory=lambda: {DELIVERED: 1.0})
    phone_outcomes: Mapping[str, str] = field(default_factory=dict)
    suffix_outcomes: Mapping[str, str] = field(default_factory=dict)
    # SMS delivery outcome by exact number (delivered, failed, no_report); any other number: delivered.
    sms_phone_outcomes: Mapping[str, str] = field(default_factory=dict)
    # Callbacks, as probabilities per accepted message.
    callback_loss_rate: float = 0.0  # never reach the CallbackUrl, though GetCallback/QueryZnsStatus know
    sent_first: float = 0.0  # a SendStatus 7 callback precedes the final one
    reorder: float = 0.0  # given a SendStatus 7 callback, it follows the final one instead
    duplicate_callbacks: float = 0.0  # the final callback is delivered twice
    early_callbacks: float = 0.0  # callbacks are delivered before the send is answered
    early_callback_wait_seconds: float = 2.0  # longest the answer waits for early callbacks
    callback_delay_seconds: float = 0.05
    callback_gap_seconds: float = 0.02  # between the callbacks of one message
    callback_timeout_seconds: float = 5.0
    callback_retries: int = 5  # on timeout only, as eSMS does
    callback_retry_delay_seconds: float = 0.5
    unit_price: float = 300.0  # TotalPrice of a sent ZNS message
    sms_unit_price: float = 850.0  # TotalPrice of a delivered SMS
    # The account: registered ZNS templates (by TempID), SMS brandnames, SMS content eSMS refuses as a
    # wrong customer-care template (146; a regular expression searched in Content, "" = none).
    templates: Mapping[str, ZnsTemplate] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    brandnames: tuple[str, ...] = DEFAULT_BRANDNAMES
    sms_refused_pattern: str = ""
    balance: float = 36693.0  # GetBalance_json's Balance
    daily_quota: int = 5000  # ZNS/GetQuota's DailyQuota; RemainingQuota counts an OA's accepted ZNS down
    # ZNS/GetQuality's level (both OaCurrentQuality and Oa7dayQuality) by OAID; any other OA: HIGH.
    oa_quality: Mapping[str, str] = field(default_factory=dict)
    # Zalo's rules (zalo_rules.py), none of which refuses anything by default. Vietnam time is the
    # simulator's clock plus this offset, in UTC+7; a test moves it to 21:59 without touching the clock.
    vietnam_clock_offset_seconds: float = 0.0
    night_restricted_templates: tuple[str, ...] = ()  # TempIDs refused -133 from 22:00 to 06:00
    template_daily_limits: Mapping[str, int] = field(default_factory=dict)  # TempID -> ZNS a day (-147)
    refusing_phones: Mapping[str, int] = field(default_factory=dict)  # phone -> -141 or -139

    _RATES = (
        "drop_rate",
        "timeout_rate",
        "error_rate_5xx",
        "callback_loss_rate",
        "sent_first",
        "reorder",
        "duplicate_callbacks",
        "early_callbacks",
    )
    _AMOUNTS = (
        "timeout_sleep_seconds",
        "tps_limit",
        "early_callback_wait_seconds",
        "callback_delay_seconds",
        "callback_gap_seconds",
        "callback_timeout_seconds",
        "callback_retry_delay_seconds",
        "unit_price",
        "sms_unit_price",
        "balance",
    )
    _COUNTS = (
        "seed",
        "tps_burst",
        "get_callback_tps_limit",
        "query_zns_status_tps_limit",
        "callback_retries",
        "daily_quota",
    )

    def __post_init__(self) -> None:
        """Validate, and copy mappings so a caller's later edits cannot change a live configuration."""
        for name in self._RATES:
            _require_number(name, getattr(self, name), upper=1.0)
        for name in self._AMOUNTS:
            _require_number(name, getattr(self, name))
        for name in self._COUNTS:
            _require_count(name, getattr(self, name))
        _require_count("get_callback_max_ids", self.get_callback_max_ids, lower=1)
        object.__setattr__(self, "latency_ms", self._checked_latency())
        object.__setattr__(self, "outcomes", self._checked_weights())
        object.__setattr__(
            self,
            "phone_outcomes",
            _checked_phone_outcomes("phone_outcomes", self.phone_outcomes, ZNS_OUTCOMES),
        )
        object.__setattr__(self, "suffix_outcomes", self._checked_suffix_outcomes())
        object.__setattr__(
            self,
            "sms_phone_outcomes",
            _checked_phone_outcomes("sms_phone_outcomes", self.sms_phone_outcomes, SMS_OUTCOMES),
        )
        object.__setattr__(self, "templates", self._checked_templates())
        object.__setattr__(self, "brandnames", self._checked_brandnames())
        object.__setattr__(self, "oa_quality", self._checked_oa_quality())
        self._check_refused_pattern()
        self._check_clock_offset()
        object.__setattr__(self, "night_restricted_templates", self._checked_night_templates())
        object.__setattr__(self, "template_daily_limits", self._checked_template_limits())
        object.__setattr__(self, "refusing_phones", self._checked_refusing_phones())

    @property
    def bucket_capacity(self) -> float:
        """How many sends may come at once after a quiet spell."""
        return float(self.tps_burst) if self.tps_burst else max(1.0, self.tps_limit)

    def _checked_latency(self) -> float | tuple[float, float]:
        latency: Any = self.latency_ms  # JSON updates deliver a list
        if isinstance(latency, list | tuple):
            if len(latency) != 2:
                raise ValueError("latency_ms must be a number or a [min, max] pair")
            low, high = latency
            _require_number("latency_ms", low)
            _require_number("latency_ms", high)
            if low > high:
                raise ValueError("latency_ms: min must not exceed max")
            return (float(low), float(high))
        _require_number("latency_ms", latency)
        return float(latency)

    def _checked_weights(self) -> dict[str, float]:
        if not isinstance(self.outcomes, Mapping) or not self.outcomes:
            raise ValueError("outcomes must map outcome names to weights")
        for name, weight in self.outcomes.items():
            _require_outcome("outcomes", name, ZNS_OUTCOMES)
            _require_number(f"outcomes[{name}]", weight)
        if sum(self.outcomes.values()) <= 0:
            raise ValueError("outcomes: at least one weight must be positive")
        return dict(self.outcomes)

    def _checked_suffix_outcomes(self) -> dict[str, str]:
        if not isinstance(self.suffix_outcomes, Mapping):
            raise ValueError("suffix_outcomes must map trailing digits to outcome names")
        for suffix, outcome in self.suffix_outcomes.items():
            if not isinstance(suffix, str) or not suffix.isdigit():
                raise ValueError(f"suffix_outcomes: {suffix!r} is not a string of digits")
            _require_outcome("suffix_outcomes", outcome, ZNS_OUTCOMES)
        return dict(self.suffix_outcomes)

    def _checked_templates(self) -> dict[str, ZnsTemplate]:
        if not isinstance(self.templates, Mapping):
            raise ValueError("templates must map TempIDs to templates")
        checked = {}
        for temp_id, template in self.templates.items():
            if not isinstance(temp_id, str) or not temp_id.isdigit():
                raise ValueError(f"templates: {temp_id!r} is not a TempID of digits")
            checked[temp_id] = template_from_json(temp_id, template)
        return checked

    def _checked_brandnames(self) -> tuple[str, ...]:
        names: Any = self.brandnames  # JSON updates deliver a list
        if not isinstance(names, list | tuple) or not all(isinstance(name, str) and name for name in names):
            raise ValueError("brandnames must be a list of non-empty strings")
        return tuple(names)

    def _checked_oa_quality(self) -> dict[str, str]:
        if not isinstance(self.oa_quality, Mapping):
            raise ValueError("oa_quality must map OAIDs to quality levels")
        for oa_id, level in self.oa_quality.items():
            if not isinstance(oa_id, str) or not oa_id.isdigit():
                raise ValueError(f"oa_quality: {oa_id!r} is not an OAID of digits")
            if level not in QUALITY_LEVELS:
                raise ValueError(
                    f"oa_quality: unknown level {level!r} (known: {', '.join(sorted(QUALITY_LEVELS))})"
                )
        return dict(self.oa_quality)

    def _check_refused_pattern(self) -> None:
        if not isinstance(self.sms_refused_pattern, str):
            raise ValueError("sms_refused_pattern must be a string")
        try:
            re.compile(self.sms_refused_pattern)
        except re.error as error:
            raise ValueError(f"sms_refused_pattern: {error}") from None

    def _check_clock_offset(self) -> None:
        offset = self.vietnam_clock_offset_seconds
        if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
            raise ValueError("vietnam_clock_offset_seconds must be a number of seconds")

    def _checked_night_templates(self) -> tuple[str, ...]:
        temp_ids: Any = self.night_restricted_templates  # JSON updates deliver a list
        if not isinstance(temp_ids, list | tuple) or not all(_is_digits(item) for item in temp_ids):
            raise ValueError("night_restricted_templates must be a list of TempIDs of digits")
        return tuple(temp_ids)

    def _checked_template_limits(self) -> dict[str, int]:
        if not isinstance(self.template_daily_limits, Mapping):
            raise ValueError("template_daily_limits must map TempIDs to a number of ZNS a day")
        for temp_id, limit in self.template_daily_limits.items():
            if not _is_digits(temp_id):
                raise ValueError(f"template_daily_limits: {temp_id!r} is not a TempID of digits")
            _require_count(f"template_daily_limits[{temp_id}]", limit)
        return dict(self.template_daily_limits)

    def _checked_refusing_phones(self) -> dict[str, int]:
        if not isinstance(self.refusing_phones, Mapping):
            raise ValueError("refusing_phones must map phone numbers to -141 or -139")
        checked = {}
        for phone, code in self.refusing_phones.items():
            local = local_phone(phone) if isinstance(phone, str) else None
            if local is None:
                raise ValueError(f"refusing_phones: {phone!r} is not a 0xxxxxxxxx or 84xxxxxxxxx number")
            if isinstance(code, bool) or code not in REFUSING_PHONE_CODES:
                raise ValueError(f"refusing_phones[{phone}]: {code!r} is not -141 or -139")
            checked[local] = code
        return checked


def _is_digits(value: object) -> bool:
    return isinstance(value, str) and value.isdigit()


def _checked_phone_outcomes(name: str, mapping: object, known: frozenset[str]) -> dict[str, str]:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{name} must map phone numbers to outcome names")
    checked = {}
    for phone, outcome in mapping.items():
        local = local_phone(phone) if isinstance(phone, str) else None
        if local is None:
            raise ValueError(f"{name}: {phone!r} is not a 0xxxxxxxxx or 84xxxxxxxxx number")
        _require_outcome(name, outcome, known)
        checked[local] = outcome
    return checked
