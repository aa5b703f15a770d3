"""A guardrails run over fakes: every watched OA asked once per question, a failing question noted without
stopping the others, no OA asked without the time to, and nothing to watch said once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from pydantic import SecretStr

from zns_relay.config.credentials import SecretCache
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.guardrails.check import GuardrailsCheck
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.guardrails import FindingKind, OaQuality, Quality, ZnsQuota

OA = "1397492183140006179"
OTHER = "4097311281936189049"
KEYS = EsmsCredentials(api_key=SecretStr("api-key-1"), secret_key=SecretStr("secret-key-1"))


@dataclass
class FakeAccount:
    quotas: dict[str, ZnsQuota | EsmsQueryFailed] = field(default_factory=dict)
    qualities: dict[str, OaQuality | EsmsQueryFailed] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def quota(self, credentials: EsmsCredentials, oa_id: str) -> ZnsQuota:
        self.asked.append(("quota", oa_id))
        answer = self.quotas[oa_id]
        if isinstance(answer, EsmsQueryFailed):
            raise answer
        return answer

    def quality(self, credentials: EsmsCredentials, oa_id: str) -> OaQuality:
        self.asked.append(("quality", oa_id))
        answer = self.qualities[oa_id]
        if isinstance(answer, EsmsQueryFailed):
            raise answer
        return answer


class Keys:
    def __init__(self, error: ConfigurationError | None = None) -> None:
        self.error = error

    def get(self) -> EsmsCredentials:
        if self.error:
            raise self.error
        return KEYS


def check(account: FakeAccount, oa_ids: tuple[str, ...] = (OA, OTHER), keys: Any = None) -> GuardrailsCheck:
    credentials = cast(SecretCache[EsmsCredentials], keys or Keys())
    return GuardrailsCheck(oa_ids, account, credentials, quota_alarm_percent=20, seconds_per_oa=26)


def plenty() -> float:
    return 100.0


def test_a_failing_oa_does_not_stop_the_others() -> None:
    # Given eSMS refusing the first OA's quota question, and answering everything else
    account = FakeAccount(
        quotas={OA: EsmsQueryFailed("eSMS 204: OAID does not exist", "204"), OTHER: ZnsQuota(100, 10)},
        qualities={OA: OaQuality(Quality.LOW, Quality.LOW), OTHER: OaQuality(Quality.HIGH, Quality.HIGH)},
    )

    report = check(account).run(plenty)

    # Then both OAs were asked both questions, and what failed is a finding
    assert account.asked == [("quota", OA), ("quality", OA), ("quota", OTHER), ("quality", OTHER)]
    kinds = {(f.kind, f.oa_id) for f in report.findings}
    assert kinds == {
        (FindingKind.CHECK_FAILED, OA),
        (FindingKind.QUALITY_LOW, OA),
        (FindingKind.QUOTA_LOW, OTHER),
    }
    [failed] = [f for f in report.findings if f.kind is FindingKind.CHECK_FAILED]
    assert failed.detail == "ZNS/GetQuota: eSMS 204: OAID does not exist"


def test_an_unreadable_secret_is_a_failed_check_for_each_oa_and_asks_nothing() -> None:
    account = FakeAccount()

    report = check(account, keys=Keys(ConfigurationError("could not read the secret (ClientError)"))).run(
        plenty
    )

    assert account.asked == []
    assert [(f.kind, f.oa_id) for f in report.findings] == [
        (FindingKind.CHECK_FAILED, OA),
        (FindingKind.CHECK_FAILED, OTHER),
    ]


def test_an_oa_is_not_asked_with_less_of_the_invocation_left_than_asking_it_may_take() -> None:
    account = FakeAccount(
        quotas={OA: ZnsQuota(10, 10)}, qualities={OA: OaQuality(Quality.HIGH, Quality.HIGH)}
    )
    left = iter([100.0, 20.0])

    report = check(account).run(lambda: next(left))

    assert account.asked == [("quota", OA), ("quality", OA)]
    assert [(f.kind, f.oa_id) for f in report.findings] == [(FindingKind.CHECK_FAILED, OTHER)]


def test_each_oa_is_asked_once_however_often_it_is_named() -> None:
    account = FakeAccount(
        quotas={OA: ZnsQuota(10, 10)}, qualities={OA: OaQuality(Quality.HIGH, Quality.HIGH)}
    )

    check(account, (OA, OA)).run(plenty)

    assert account.asked == [("quota", OA), ("quality", OA)]


def test_with_nothing_to_watch_it_says_so_once_and_publishes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guardrails = check(FakeAccount(), ())

    reports = [guardrails.run(plenty) for _ in range(3)]

    assert all(not report.measurements and not report.findings for report in reports)
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(said) == 1 and "no OA to watch" in said[0]
