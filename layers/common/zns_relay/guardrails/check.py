"""One guardrails run: ask eSMS about each watched OA's quota and quality, one question at a time, and
evaluate the answers. A question that fails (eSMS unreachable or refusing, the secret unreadable) is
noted and the run goes on to the next; nothing here raises for eSMS's sake."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import logger
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.guardrails.evaluation import evaluate
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.guardrails import GuardrailsReport, OaQuality, OaReading, ZnsQuota


class OaAccount(Protocol):
    """What the check asks eSMS (zns_relay.esms.account.OaAccountClient)."""

    def quota(self, credentials: EsmsCredentials, oa_id: str) -> ZnsQuota: ...

    def quality(self, credentials: EsmsCredentials, oa_id: str) -> OaQuality: ...


class GuardrailsCheck:
    def __init__(
        self,
        oa_ids: Sequence[str],
        account: OaAccount,
        credentials: SecretCache[EsmsCredentials],
        quota_alarm_percent: float,
        seconds_per_oa: float,
    ) -> None:
        """`seconds_per_oa`: the longest asking one OA may take (both questions' timeouts); an OA is not
        asked with less than that left of the invocation."""
        self._oa_ids = tuple(dict.fromkeys(oa_ids))
        self._account = account
        self._credentials = credentials
        self._quota_alarm_percent = quota_alarm_percent
        self._seconds_per_oa = seconds_per_oa
        self._said_nothing_to_watch = False

    def run(self, seconds_left: Callable[[], float]) -> GuardrailsReport:
        if not self._oa_ids:
            if not self._said_nothing_to_watch:
                logger.info("guardrails: no OA to watch (DefaultOaId and AllowedOaIds are empty)")
                self._said_nothing_to_watch = True
            return GuardrailsReport()
        readings = [
            self._read(oa_id)
            if seconds_left() >= self._seconds_per_oa
            else OaReading(oa_id, failures=("not asked: too little of the invocation left",))
            for oa_id in self._oa_ids
        ]
        return evaluate(readings, self._quota_alarm_percent)

    def _read(self, oa_id: str) -> OaReading:
        try:
            credentials = self._credentials.get()
        except ConfigurationError as error:
            return OaReading(oa_id, failures=(f"not asked: {error}",))
        quota: ZnsQuota | None = None
        quality: OaQuality | None = None
        failures: list[str] = []
        try:
            quota = self._account.quota(credentials, oa_id)
        except EsmsQueryFailed as error:
            failures.append(f"ZNS/GetQuota: {error}")
        try:
            quality = self._account.quality(credentials, oa_id)
        except EsmsQueryFailed as error:
            failures.append(f"ZNS/GetQuality: {error}")
        return OaReading(oa_id, quota, quality, tuple(failures))
