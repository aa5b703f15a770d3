"""The send logic: validate, claim, send once, record the result by the failure policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.credentials import CredentialsProvider
from zns_relay.delivery import DeliveryReports
from zns_relay.models.contract import ZnsMessage, parse_message_body
from zns_relay.models.errors import ConfigurationError, ContractViolation
from zns_relay.models.esms import (
    CREDENTIALS_CODE,
    EsmsCredentials,
    ResultClass,
    SendResult,
    ZaloSendRequest,
    is_known_code,
)
from zns_relay.models.state import MessageStatus
from zns_relay.observability import count, logger, milliseconds
from zns_relay.store.messages import ClaimedMessage, MessageStore

SENDING_ONLY = frozenset({MessageStatus.SENDING})


class EsmsSender(Protocol):
    def send_zalo_message(self, request: ZaloSendRequest, credentials: EsmsCredentials) -> SendResult: ...


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    RETRY = "retry"  # back to the queue with a backoff delay
    EXHAUSTED = "exhausted"  # recorded FAILED; the SQS message goes on to the DLQ
    SKIPPED = "skipped"  # another delivery owns or has finished this RequestId


@dataclass(frozen=True)
class SqsDelivery:
    """The parts of an SQS record the logic needs."""

    message_id: str
    body: str
    receive_count: int


@dataclass(frozen=True)
class SendOutcome:
    outcome: Outcome
    request_id: str
    detail: str = ""


@dataclass(frozen=True)
class SenderPolicy:
    """Deployment choices the logic applies (from Settings)."""

    default_oa_id: str
    sandbox_default: bool
    max_receive_count: int
    callback_base_url: str = ""


class MessageSender:
    """Handles one queued message; safe to call from several threads at once."""

    def __init__(
        self,
        store: MessageStore,
        esms: EsmsSender,
        credentials: CredentialsProvider,
        policy: SenderPolicy,
        reports: DeliveryReports,
    ) -> None:
        self._store = store
        self._esms = esms
        self._credentials = credentials
        self._policy = policy
        self._reports = reports

    def process(self, delivery: SqsDelivery, lease_seconds: int) -> SendOutcome:
        try:
            request = self._resolve(parse_message_body(delivery.body), delivery)
        except ContractViolation as violation:
            return self._reject(violation, delivery)
        logger.thread_safe_append_keys(correlation_id=request.request_id)  # the RequestId

        claim = self._store.claim(request.request_id, _item_fields(request), lease_seconds)
        if claim is None:
            count("DuplicatesSkipped")
            logger.info("RequestId already claimed or finished: not sent again")
            return SendOutcome(Outcome.SKIPPED, request.request_id, "already claimed")

        try:
            result = self._send(request)
        except ConfigurationError as error:
            count("AccountErrors")
            logger.error("cannot send: configuration", extra={"reason": str(error)})
            result = SendResult(ResultClass.ACCOUNT, None, message=f"configuration: {error}")
        return self._record(request, claim, result, delivery.receive_count)

    def _resolve(self, message: ZnsMessage, delivery: SqsDelivery) -> ZaloSendRequest:
        request_id = message.request_id or delivery.message_id
        oa_id = message.oa_id or self._policy.default_oa_id
        if not oa_id:
            raise ContractViolation("OAID: required, since this deployment has no DefaultOaId", request_id)
        sandbox = message.sandbox == "1" if message.sandbox is not None else self._policy.sandbox_default
        return ZaloSendRequest(
            phone=message.phone,
            oa_id=oa_id,
            temp_id=message.temp_id,
            temp_data=message.template_params(),
            request_id=request_id,
            sandbox=sandbox,
            send_date=message.send_date,
            campaign_id=message.campaign_id,
            sending_mode=message.sending_mode,
        )

    def _send(self, request: ZaloSendRequest) -> SendResult:
        credentials = self._credentials.get()
        result = self._call(request, credentials)
        if result.code == CREDENTIALS_CODE:
            # The secret may have been rotated since we cached it: read it again, and if it did
            # change, try once more at once (eSMS refused the first call, so nothing is doubled).
            fresh = self._credentials.refresh()
            if fresh != credentials:
                logger.info("eSMS refused the cached credentials; retrying with the re-read secret")
                result = self._call(request, fresh)
        return result

    def _call(self, request: ZaloSendRequest, credentials: EsmsCredentials) -> SendResult:
        if not request.sandbox and self._policy.callback_base_url:
            token = credentials.callback_token.get_secret_value()
            request = replace(request, callback_url=f"{self._policy.callback_base_url.rstrip('/')}/{token}")
        result = self._esms.send_zalo_message(request, credentials)
        milliseconds("EsmsLatency", result.latency_ms)
        if result.code is not None and not is_known_code(result.code):
            logger.warning("eSMS answered an unknown code; retrying", extra={"esms_code": result.code})
        return result

    def _record(
        self, request: ZaloSendRequest, claim: ClaimedMessage, result: SendResult, receive_count: int
    ) -> SendOutcome:
        request_id = request.request_id
        match result.result_class:
            case ResultClass.ACCEPTED:
                return self._accept(request, claim, result, "accepted by eSMS")
            case ResultClass.DUPLICATE if claim.attempts > 1:
                # An earlier attempt of ours was accepted but its result never got written.
                detail = "eSMS already holds this RequestId from an earlier attempt"
                return self._accept(request, claim, result, detail)
            case ResultClass.DUPLICATE | ResultClass.PERMANENT:
                detail = result.description
                if result.result_class is ResultClass.DUPLICATE:
                    detail += ": this RequestId was sent to eSMS by something else within 24 h"
                self._fail(claim, result, detail)
                return SendOutcome(Outcome.FAILED, request_id, detail)
            case _:
                return self._retry_or_give_up(claim, result, receive_count)

    def _accept(
        self, request: ZaloSendRequest, claim: ClaimedMessage, result: SendResult, detail: str
    ) -> SendOutcome:
        # Logged before the write: should the write fail, this line is the only record of the SMSID.
        logger.info("message accepted", extra={"sms_id": result.sms_id, "sandbox": request.sandbox})
        fields = {"sms_id": result.sms_id, "esms_code": result.code, "sandbox": request.sandbox}
        self._write(claim, MessageStatus.ACCEPTED, detail, fields)
        count("MessagesAccepted")
        if result.sms_id:
            self._apply_early_callbacks(request.request_id, result.sms_id)
        return SendOutcome(Outcome.ACCEPTED, request.request_id, detail)

    def _apply_early_callbacks(self, request_id: str, sms_id: str) -> None:
        """Apply callbacks that beat our write. The send itself is done: failing here must not fail
        the record (a retry would only find the message claimed); the callback stays parked instead."""
        try:
            self._reports.link_and_apply_parked(request_id, sms_id)
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "could not check for early callbacks; any stay in CallbacksTable",
                extra={"sms_id": sms_id, "error": type(error).__name__},
            )

    def _fail(self, claim: ClaimedMessage, result: SendResult, detail: str) -> None:
        self._write(claim, MessageStatus.FAILED, detail, {"esms_code": result.code, "error": detail})
        count("MessagesFailed")
        logger.warning("message failed", extra={"reason": detail})

    def _retry_or_give_up(self, claim: ClaimedMessage, result: SendResult, receive_count: int) -> SendOutcome:
        request_id = claim.request_id
        fields = {"esms_code": result.code, "error": result.description}
        account_problem = result.result_class is ResultClass.ACCOUNT
        if account_problem:
            count("AccountErrors")
            logger.error("eSMS account problem: an operator must act", extra={"reason": result.description})
        if receive_count < self._policy.max_receive_count:
            self._write(claim, MessageStatus.RETRYING, result.description, fields)
            count("MessagesRetried")
            logger.info("send failed for now; will retry", extra={"reason": result.description})
            return SendOutcome(Outcome.RETRY, request_id, result.description)
        if account_problem:
            # Nothing is wrong with the message: it waits in the DLQ, still RETRYING, so that a redrive
            # after the operator's fix sends it (FAILED is final and would refuse the redrive).
            detail = f"retries exhausted on an account problem, waiting in the DLQ: {result.description}"
            self._write(claim, MessageStatus.RETRYING, detail, fields)
            count("MessagesDeadLettered")
            return SendOutcome(Outcome.EXHAUSTED, request_id, detail)
        detail = f"retries exhausted after {receive_count} receives: {result.description}"
        self._fail(claim, result, detail)
        count("MessagesDeadLettered")
        return SendOutcome(Outcome.EXHAUSTED, request_id, detail)

    def _reject(self, violation: ContractViolation, delivery: SqsDelivery) -> SendOutcome:
        request_id = violation.request_id or delivery.message_id
        logger.thread_safe_append_keys(correlation_id=request_id)
        recorded = self._store.reject(request_id, violation.reason)
        count("MessagesRejected")
        logger.warning(
            "message rejected: it breaks the producer contract",
            extra={"reason": violation.reason, "recorded": recorded},
        )
        return SendOutcome(Outcome.REJECTED, request_id, violation.reason)

    def _write(
        self, claim: ClaimedMessage, target: MessageStatus, detail: str, fields: Mapping[str, object]
    ) -> None:
        """Record a send's result: only from SENDING, and only while the claim is still ours."""
        if not self._store.transition(
            claim.request_id, target, detail, fields, only_from=SENDING_ONLY, claim=claim
        ):
            # Only possible when our lease ran out and another delivery took the message over.
            logger.warning("state write refused: the message moved on meanwhile", extra={"target": target})


def _item_fields(request: ZaloSendRequest) -> dict[str, object]:
    return {
        "phone": request.phone,
        "temp_id": request.temp_id,
        "oa_id": request.oa_id,
        "campaign_id": request.campaign_id,
        "sandbox": request.sandbox,
    }
