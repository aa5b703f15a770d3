"""The reconciler's questions to eSMS's status endpoints, each rate-limited and counted: an Answer, or
None when eSMS could not be asked (a failed call, or credentials that cannot be had). A "not found"
is an answer: eSMS's word that it holds nothing for the SMSID."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import logger
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.esms.status import NOT_FOUND_CODES, ZNS_SMS_TYPES
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials
from zns_relay.reconciler.answers import most_final_by_sms_id
from zns_relay.reconciler.discovery import Discovery, SmsIdFinder
from zns_relay.reconciler.rate_limit import RateLimiter
from zns_relay.reconciler.summary import ReconcileSummary
from zns_relay.store.records import WaitingMessage


class StatusSource(Protocol):
    def get_callbacks(
        self, sms_ids: Sequence[str], oa_id: str, credentials: EsmsCredentials
    ) -> list[dict[str, str]]: ...

    def query_zns_status(
        self, sms_id: str, sms_type: str, credentials: EsmsCredentials
    ) -> dict[str, str]: ...

    def send_status(self, sms_id: str, credentials: EsmsCredentials) -> dict[str, str]: ...


@dataclass(frozen=True)
class Answer:
    source: str  # the endpoint that answered: GetCallback, QueryZnsStatus or GetSendStatus
    asked_at: int  # epoch seconds
    parameters: dict[str, str] | None  # a report's fields; None: eSMS holds nothing for the SMSID


class StatusQuestions:
    def __init__(
        self,
        status: StatusSource,
        credentials: SecretCache[EsmsCredentials],
        *,
        get_callback_limiter: RateLimiter,
        query_status_limiter: RateLimiter,
        now: Callable[[], int],
    ) -> None:
        self._status = status
        self._credentials = credentials
        self._get_callback_limiter = get_callback_limiter
        self._query_status_limiter = query_status_limiter
        self._now = now

    def get_callbacks(
        self, sms_ids: Sequence[str], oa_id: str, summary: ReconcileSummary
    ) -> dict[str, Answer] | None:
        """GetCallback for one OA's SMSIDs: the most final answer for each SMSID it knows."""
        credentials = self._credentials_or_none()
        if credentials is None:
            return None
        self._get_callback_limiter.acquire()
        summary.get_callback_calls += 1
        summary.asked += len(sms_ids)
        asked_at = self._now()
        try:
            answers = self._status.get_callbacks(sms_ids, oa_id, credentials)
        except EsmsQueryFailed as error:
            logger.warning("GetCallback failed; asking again later", extra={"reason": str(error)})
            return None
        summary.answers += 1
        best = most_final_by_sms_id(answers)
        return {sms_id: Answer("GetCallback", asked_at, parameters) for sms_id, parameters in best.items()}

    def zns_status(self, sms_id: str, summary: ReconcileSummary) -> Answer | None:
        """QueryZnsStatus wants the message's type: an ordinary ZNS first, then a priority (OTP) one."""
        credentials = self._credentials_or_none()
        if credentials is None:
            return None
        asked_at = self._now()
        for sms_type in ZNS_SMS_TYPES:
            self._query_status_limiter.acquire()
            summary.query_status_calls += 1
            try:
                parameters = self._status.query_zns_status(sms_id, sms_type, credentials)
            except EsmsQueryFailed as error:
                if error.code in NOT_FOUND_CODES:
                    continue
                logger.info("QueryZnsStatus failed; asking again later", extra={"reason": str(error)})
                return None
            summary.answers += 1
            return Answer("QueryZnsStatus", asked_at, parameters)
        summary.answers += 1
        return Answer("QueryZnsStatus", asked_at, None)  # eSMS knows it under neither type

    def sms_status(self, sms_id: str, summary: ReconcileSummary) -> Answer | None:
        """An SMS fallback: GetCallback and QueryZnsStatus know ZNS only; GetSendStatus knows it."""
        self._query_status_limiter.acquire()
        summary.query_status_calls += 1
        asked_at = self._now()
        credentials = self._credentials_or_none()
        if credentials is None:
            return None
        try:
            parameters = self._status.send_status(sms_id, credentials)
        except EsmsQueryFailed as error:
            if error.code in NOT_FOUND_CODES:  # eSMS's word: it holds nothing for this SMSID
                summary.answers += 1
                return Answer("GetSendStatus", asked_at, None)
            logger.info("GetSendStatus failed; asking again later", extra={"reason": str(error)})
            return None
        summary.answers += 1
        return Answer("GetSendStatus", asked_at, parameters)

    def find_sms_ids(
        self,
        finder: SmsIdFinder,
        messages: list[WaitingMessage],
        now: int,
        summary: ReconcileSummary,
        time_is_up: Callable[[], bool],
    ) -> Discovery | None:
        """eSMS's list of sent messages, read for these messages (None: it could not be read)."""
        credentials = self._credentials_or_none()
        if credentials is None:
            return None
        discovery = finder.find(messages, credentials, now, time_is_up=time_is_up)
        if discovery is not None and discovery.looked_up:
            summary.answers += 1
        return discovery

    def _credentials_or_none(self) -> EsmsCredentials | None:
        try:
            return self._credentials.get()
        except ConfigurationError as error:
            logger.error("cannot ask eSMS: configuration", extra={"reason": str(error)})
            return None
