"""The send logic: validate, claim, send once, record the result by the failure policy.

Time, not a count of receives, decides when to give up: a transient failure is retried with backoff
until the message's retry window ends (its ValidUntil, else the deployment's retry window). When it
ends, a message that eSMS certainly refused every time is FAILED (or EXPIRED, if its validity ran
out); one that eSMS may have accepted (an attempt timed out, or its holder died mid-send) is never
FAILED: it waits for its delivery report, and the reconciler ends it UNKNOWN if none comes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import Protocol

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import count, logger, milliseconds
from zns_relay.models.contract import ZnsMessage, parse_message_body, schedule_problem
from zns_relay.models.errors import ConfigurationError, ContractViolation, ZnsRelayError
from zns_relay.models.esms import (
    CREDENTIALS_CODE,
    EsmsCredentials,
    ResultClass,
    SendRequest,
    SendResult,
    SmsSendRequest,
    ZaloSendRequest,
    is_known_code,
)
from zns_relay.models.events import mask_phone
from zns_relay.models.fallback import (
    MAX_SMS_CHARS,
    FallbackRequest,
    FallbackTrigger,
    PlannedFallback,
    fill_content,
    is_gsm_text,
)
from zns_relay.models.fallback_job import parse_fallback_job
from zns_relay.models.state import KEYED_FINGERPRINT_PREFIX, Channel, MessageStatus
from zns_relay.reports.callback_url import CallbackSigner
from zns_relay.reports.delivery import FollowUp
from zns_relay.sender.backoff import retry_delay_seconds
from zns_relay.sender.fingerprint import MessageFingerprints
from zns_relay.sender.pacing import SendPacer
from zns_relay.sender.sealing import FallbackTexts, SealedTextUnavailable
from zns_relay.store.messages import Clock, MessageStore, utc_now
from zns_relay.store.records import ClaimedMessage, ClaimLost

SENDING_ONLY = frozenset({MessageStatus.SENDING})
EVERY_STATUS = frozenset(MessageStatus)
TPS_LIMIT_CODE = "160"
RESEND_SLOT_WAIT_SECONDS = 2.0
# A claim's lease outlives the invocation by this much: only then may another delivery take it over.
LEASE_MARGIN_SECONDS = 5
# Retries beyond this many receives still count attempts but add no history entry: a message retried
# for hours through an outage must not grow its item without bound.
HISTORY_RECEIVES = 10


class EsmsSender(Protocol):
    def send(self, request: SendRequest, credentials: EsmsCredentials) -> SendResult: ...


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"
    WAITING = "waiting"  # the window ended after an attempt eSMS may have accepted: its report decides
    RETRY = "retry"  # back to the queue, seen again after `retry_after_seconds`
    HANDED_BACK = "handed back"  # not claimed: no time left in the invocation, or no send slot in time
    SKIPPED = "skipped"  # another delivery owns or has finished this RequestId


# What the SQS record becomes: RETRY and HANDED_BACK go back to the queue, the rest are done with.
BACK_TO_QUEUE = frozenset({Outcome.RETRY, Outcome.HANDED_BACK})


@dataclass(frozen=True)
class SqsDelivery:
    """The parts of an SQS record the logic needs."""

    message_id: str
    body: str
    receive_count: int
    sent_at: datetime  # when the producer published it (SQS SentTimestamp): the default validity's start


@dataclass(frozen=True)
class SendOutcome:
    outcome: Outcome
    request_id: str
    detail: str = ""
    retry_after_seconds: int = 0


@dataclass(frozen=True)
class SenderPolicy:
    """Deployment choices the logic applies (from Settings)."""

    default_oa_id: str
    sandbox_default: bool
    retry_window_seconds: int
    force_sandbox: bool = False  # a dev stage: no message is really sent, whatever it asks
    allowed_oa_ids: frozenset[str] = frozenset()  # empty: any OA
    allowed_brandnames: frozenset[str] = frozenset()  # empty: any brandname (the account's own)
    default_brandname: str = ""
    fallback_on: tuple[FallbackTrigger, ...] = (FallbackTrigger.NO_ZALO, FallbackTrigger.INACTIVE)
    fallback_defaults: Mapping[str, FallbackRequest] = field(default_factory=dict)  # by TempID
    default_validity_seconds: int = 0  # 0: a message without ValidUntil never expires
    retry_base_seconds: int = 10
    retry_max_seconds: int = 900
    # Past the end of its window, a message no delivery revisits is the reconciler's after this much.
    abandon_after_seconds: int = 1800
    # Claim nothing with less than this left of the invocation: a send could not finish in time.
    min_seconds_to_send: float = 20.0
    # Records that may be in flight at once across all senders: what a throttled record waits behind.
    throttle_backlog: int = 50


@dataclass(frozen=True)
class _Window:
    retry_until: int
    valid_until: int | None


class _Holder(Enum):
    """Which message holds a RequestId whose claim was lost (MessageSender._holder)."""

    THIS_MESSAGE = "this message"
    THIS_MESSAGE_UNDER_A_NEWER_KEY = "this message, fingerprinted under a key this sender lacked"
    ANOTHER_MESSAGE = "another message"


@dataclass(frozen=True)
class _FallbackPlan:
    """A message's SMS fallback, its text filled in: sealed before anything stores it."""

    content: str
    brandname: str
    is_unicode: bool
    on: list[FallbackTrigger]

    def sealed(self, texts: FallbackTexts, request_id: str) -> dict[str, object]:
        """As the item keeps it (PlannedFallback), its text sealed for message `request_id`."""
        planned = PlannedFallback(
            sealed_content=texts.seal(self.content, request_id),
            brandname=self.brandname,
            is_unicode=self.is_unicode,
            on=self.on,
        )
        return planned.model_dump(mode="json")


class MessageSender:
    """Handles one queued message; safe to call from several threads at once."""

    def __init__(
        self,
        store: MessageStore,
        esms: EsmsSender,
        credentials: SecretCache[EsmsCredentials],
        *,
        signer: CallbackSigner | None,
        fingerprints: MessageFingerprints,
        fallback_texts: FallbackTexts,
        policy: SenderPolicy,
        follow_up: FollowUp,
        pacer: SendPacer | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._esms = esms
        self._credentials = credentials
        self._signer = signer
        self._fingerprints = fingerprints
        self._fallback_texts = fallback_texts
        self._policy = policy
        self._follow_up = follow_up
        self._pacer = pacer
        self._clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()

    def process(self, delivery: SqsDelivery, seconds_left: Callable[[], float]) -> SendOutcome:
        """Send one queued ZNS message; `seconds_left()` tells what remains of the invocation."""
        try:
            message = parse_message_body(delivery.body)
            request = self._resolve(message, delivery)
            fallback = self._plan_fallback(message, request)
        except ContractViolation as violation:
            return self._reject(violation, delivery)
        try:
            fingerprints = self._fingerprints.of(request)
            planned = fallback.sealed(self._fallback_texts, request.request_id) if fallback else None
        except (ConfigurationError, SealedTextUnavailable) as error:
            return self._not_ready(request, delivery, error)
        valid_until = message.valid_until
        if valid_until is None and self._policy.default_validity_seconds:
            valid_until = delivery.sent_at + timedelta(seconds=self._policy.default_validity_seconds)
        fields = {**_zns_fields(request, fingerprints[0]), "fallback": planned}
        valid_epoch = int(valid_until.timestamp()) if valid_until is not None else None
        return self._deliver(
            request, fields, valid_epoch, delivery, seconds_left, earlier_fingerprints=fingerprints[1:]
        )

    def process_fallback(self, delivery: SqsDelivery, seconds_left: Callable[[], float]) -> SendOutcome:
        """Send one SMS fallback (queued by zns_relay.fallback.fallbacks when its ZNS message ended)."""
        try:
            job = parse_fallback_job(delivery.body)
        except ContractViolation as violation:
            return self._reject(violation, delivery, {"channel": Channel.SMS.value})
        request = SmsSendRequest(
            phone=job.phone,
            content="",  # the text stays sealed until this delivery holds the claim (_deliver)
            brandname=job.brandname,
            is_unicode=job.is_unicode,
            request_id=job.request_id,
            sandbox=job.sandbox or self._policy.force_sandbox,
            fallback_for=job.fallback_for,
            campaign_id=job.campaign_id,
        )
        return self._deliver(
            request,
            _sms_fields(request),
            job.valid_until,
            delivery,
            seconds_left,
            sealed_content=job.sealed_content,
        )

    def _deliver(
        self,
        request: SendRequest,
        fields: Mapping[str, object],
        valid_until: int | None,
        delivery: SqsDelivery,
        seconds_left: Callable[[], float],
        *,
        earlier_fingerprints: tuple[str, ...] = (),
        sealed_content: str | None = None,
    ) -> SendOutcome:
        """Claim, send once, record: the same for a ZNS message and its SMS fallback (whose text,
        `sealed_content`, is opened only once the claim is won, and only to send it)."""
        logger.thread_safe_append_keys(correlation_id=request.request_id)  # the RequestId
        spare = seconds_left() - self._policy.min_seconds_to_send
        if spare < 0:
            count("RecordsHandedBack")
            return SendOutcome(Outcome.HANDED_BACK, request.request_id, "too little time left to send")

        now = int(self._clock().timestamp())
        window = self._window(valid_until, now)
        if valid_until is not None and now >= valid_until and self._expire_unclaimed(request, fields):
            return SendOutcome(Outcome.EXPIRED, request.request_id, "validity passed before any attempt")
        if self._pacer is not None and not self._pacer.turn(max_wait=spare):
            count("RecordsHandedBack")
            delay = self._throttle_delay(delivery.receive_count)
            return SendOutcome(Outcome.HANDED_BACK, request.request_id, "no send slot in time", delay)
        now = int(self._clock().timestamp())
        claim = self._store.claim(
            request.request_id,
            fields,
            int(seconds_left()) + LEASE_MARGIN_SECONDS,
            # The reconciler's first look: an accepted message's follow-up, which acceptance and the
            # SENT report keep (its waiting-index entry is written once), or the abandoned send's.
            check_at=min(
                window.retry_until + self._policy.abandon_after_seconds, self._follow_up.check_at(now)
            ),
            keep_fields={"retry_until": window.retry_until, "valid_until": window.valid_until},
            history=delivery.receive_count <= HISTORY_RECEIVES,
            earlier_fingerprints=earlier_fingerprints,
        )
        if isinstance(claim, ClaimLost):
            return self._lost(claim, request, delivery, now)
        if now >= (claim.retry_until or window.retry_until):
            return self._close_window(claim, None)

        try:
            if sealed_content is not None and isinstance(request, SmsSendRequest):
                content = self._fallback_texts.open(sealed_content, request.fallback_for)
                request = replace(request, content=content)
            result = self._send(self._with_callback(request, claim))
        except ConfigurationError as error:
            count("AccountErrors")
            logger.error("cannot send: configuration", extra={"reason": str(error)})
            result = SendResult(ResultClass.ACCOUNT, None, message=f"configuration: {error}")
        except SealedTextUnavailable as error:  # a text that never opens fails it; a KMS fault is retried
            logger.error("cannot open the SMS fallback's text", extra={"reason": str(error)})
            kind = ResultClass.PERMANENT if error.permanent else ResultClass.TRANSIENT
            result = SendResult(kind, None, message=str(error))
        return self._record(request, claim, result, delivery.receive_count)

    def _lost(self, lost: ClaimLost, request: SendRequest, delivery: SqsDelivery, now: int) -> SendOutcome:
        """Another delivery is sending it right now: come back when its lease ends, in case it dies
        (this record may be the only copy left). Otherwise it is past sending: nothing to send, and a
        different message under the same RequestId is recorded on the first one's history."""
        request_id = request.request_id
        if lost.status is MessageStatus.SENDING and (lost.lease_until or 0) >= now:
            count("RecordsHandedBack")
            logger.info("another delivery is sending this RequestId; back after its lease")
            return SendOutcome(
                Outcome.HANDED_BACK,
                request_id,
                "being sent by another delivery",
                lost.lease_until - now + 1 if lost.lease_until else 1,
            )
        if isinstance(request, ZaloSendRequest):
            holder = self._holder(lost, request)
            if holder is _Holder.ANOTHER_MESSAGE:
                return self._reused(lost, request, delivery)
            if holder is _Holder.THIS_MESSAGE_UNDER_A_NEWER_KEY:
                # The fingerprint key was rotated since this sender read it: claim again with the new one.
                count("RecordsHandedBack")
                detail = "the fingerprint key was rotated since this sender read it: claiming again"
                return SendOutcome(Outcome.HANDED_BACK, request_id, detail, 1)
        count("DuplicatesSkipped")
        logger.info("RequestId already sent or finished: not sent again", extra={"status": lost.status})
        return SendOutcome(Outcome.SKIPPED, request_id, f"already {lost.status.value}")

    def _holder(self, lost: ClaimLost, request: ZaloSendRequest) -> _Holder:
        """Which message holds the RequestId. A REJECTED item never held a sendable body, so any
        sendable one is another message; an item with no fingerprint, or one from before fingerprints
        were keyed, is taken for this one. A fingerprint under neither key this sender holds may be
        under a key rotated in since it read the secret: it reads it again before it calls it another."""
        if lost.status is MessageStatus.REJECTED:
            return _Holder.ANOTHER_MESSAGE
        held = lost.fingerprint
        if held is None or not held.startswith(KEYED_FINGERPRINT_PREFIX):
            return _Holder.THIS_MESSAGE
        if held in self._fingerprints.of(request):
            return _Holder.THIS_MESSAGE
        if held in self._fingerprints.of_rereading_keys(request):
            return _Holder.THIS_MESSAGE_UNDER_A_NEWER_KEY
        return _Holder.ANOTHER_MESSAGE

    def _reused(self, lost: ClaimLost, request: ZaloSendRequest, delivery: SqsDelivery) -> SendOutcome:
        """A producer gave this RequestId to a different message: it is not sent (the RequestId is
        taken), and the message that holds it says so in its history and the RequestIdReused metric."""
        detail = (
            f"RequestId reused by a different message (TempID {request.temp_id}, to "
            f"{mask_phone(request.phone)}): not sent; give every message its own RequestId"
        )
        data = {"sqs_message_id": delivery.message_id, "temp_id": request.temp_id, "phone": request.phone}
        self._store.note(request.request_id, detail, data, while_in=EVERY_STATUS)
        count("RequestIdReused")
        logger.warning("RequestId reused by a different message: not sent", extra={"status": lost.status})
        return SendOutcome(Outcome.SKIPPED, request.request_id, detail)

    def _resolve(self, message: ZnsMessage, delivery: SqsDelivery) -> ZaloSendRequest:
        """The send request, by the deployment's rules: its OA, its sandbox, the schedule's bounds."""
        request_id = message.request_id or delivery.message_id
        oa_id = message.oa_id or self._policy.default_oa_id
        if not oa_id:
            raise ContractViolation("OAID: required, since this deployment has no DefaultOaId", request_id)
        if self._policy.allowed_oa_ids and oa_id not in self._policy.allowed_oa_ids:
            raise ContractViolation(f"OAID: {oa_id} is not one this deployment sends for", request_id)
        # Against the time the producer published it, not this receive's: a scheduled message still
        # retrying after its SendDate is sent, not rejected.
        problem = schedule_problem(message, delivery.sent_at)
        if problem:
            raise ContractViolation(problem, request_id)
        sandbox = message.sandbox == "1" if message.sandbox is not None else self._policy.sandbox_default
        sandbox = sandbox or self._policy.force_sandbox
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

    def _plan_fallback(self, message: ZnsMessage, request: ZaloSendRequest) -> _FallbackPlan | None:
        """The SMS to send if the message fails (content filled in, defaults applied); None when there
        is none, or for a sandbox message (it never fails for real)."""
        asked = message.fallback or self._policy.fallback_defaults.get(message.temp_id)
        if asked is None:
            return None
        brandname = asked.brandname or self._policy.default_brandname
        allowed = self._policy.allowed_brandnames
        if allowed and brandname and brandname not in allowed:  # a sandbox message learns it too
            raise ContractViolation(
                f"Fallback.Brandname: {brandname} is not one this deployment sends under", request.request_id
            )
        if request.sandbox:
            return None
        values = message.template_values()
        missing = sorted(asked.placeholders() - set(values))
        if missing:  # a deployment default naming parameters this message's TempData lacks
            raise ContractViolation(
                f"Fallback.Content names {', '.join(missing)}, which TempData lacks", request.request_id
            )
        if not brandname:  # eSMS would refuse the SMS (104) only once the ZNS message has failed
            raise ContractViolation(
                "Fallback names no Brandname, and this deployment has no DefaultBrandname",
                request.request_id,
            )
        content = fill_content(asked.content, values)
        if len(content) > MAX_SMS_CHARS:
            raise ContractViolation(
                f"Fallback.Content filled from TempData is {len(content)} characters, over {MAX_SMS_CHARS}",
                request.request_id,
            )
        return _FallbackPlan(
            content=content,
            brandname=brandname,
            is_unicode=asked.is_unicode == "1" if asked.is_unicode is not None else not is_gsm_text(content),
            on=asked.on or list(self._policy.fallback_on),
        )

    def _window(self, valid_until: int | None, now: int) -> _Window:
        """Retry for the retry window from the first attempt (the store keeps the first claim's end),
        or until the validity ends, if that is sooner. A backlog in the queue costs no retry time."""
        retry_until = now + self._policy.retry_window_seconds
        if valid_until is not None:
            retry_until = min(retry_until, valid_until)
        return _Window(retry_until=retry_until, valid_until=valid_until)

    def _expire_unclaimed(self, request: SendRequest, fields: Mapping[str, object]) -> bool:
        """A message whose validity ended before anything claimed it: EXPIRED, never sent.

        False when the message already has an item (it was tried before): the claim decides then.
        """
        reason = "not sent: its validity (ValidUntil) passed before it could be sent"
        created = self._store.create_final(request.request_id, MessageStatus.EXPIRED, reason, fields)
        if created:
            count("MessagesExpired")
            logger.warning("message expired before any attempt", extra={"reason": reason})
        return created

    def _with_callback(self, request: SendRequest, claim: ClaimedMessage) -> SendRequest:
        """The request with its CallbackUrl, signed for the message's nonce; none for a sandbox send
        (eSMS keeps no sandbox message, so no report will come)."""
        if request.sandbox or self._signer is None:
            return request
        return replace(request, callback_url=self._signer.url_for(request.request_id, claim.callback_nonce))

    def _send(self, request: SendRequest) -> SendResult:
        credentials = self._credentials.get()
        result = self._call(request, credentials)
        if result.code == CREDENTIALS_CODE:
            # The secret may have been rotated since we cached it: read it again, and if it did
            # change, try once more at once if a send slot is free (eSMS refused the first call, so
            # nothing is doubled); else the next receive sends it with the new keys.
            fresh = self._credentials.refresh()
            if fresh != credentials and (
                self._pacer is None or self._pacer.turn(max_wait=RESEND_SLOT_WAIT_SECONDS)
            ):
                logger.info("eSMS refused the cached credentials; retrying with the re-read secret")
                result = self._call(request, fresh)
        return result

    def _call(self, request: SendRequest, credentials: EsmsCredentials) -> SendResult:
        result = self._esms.send(request, credentials)
        milliseconds("EsmsLatency", result.latency_ms)
        if self._pacer is not None and result.code is not None:
            if result.code == TPS_LIMIT_CODE:
                self._pacer.throttled()
            else:
                self._pacer.answered()
        if result.code is not None and not is_known_code(result.code):
            logger.warning("eSMS answered an unknown code; retrying", extra={"esms_code": result.code})
        return result

    def _record(
        self, request: SendRequest, claim: ClaimedMessage, result: SendResult, receive_count: int
    ) -> SendOutcome:
        match result.result_class:
            case ResultClass.ACCEPTED:
                return self._accept(request, claim, result, "accepted by eSMS")
            case ResultClass.DUPLICATE if claim.attempts > 1 or claim.possibly_accepted:
                # An earlier attempt of ours was accepted but its answer never reached our record.
                detail = "eSMS already holds this RequestId from an earlier attempt"
                return self._accept(request, claim, result, detail)
            case ResultClass.DUPLICATE | ResultClass.PERMANENT:
                detail = result.description
                if result.result_class is ResultClass.DUPLICATE:
                    detail += ": this RequestId was sent to eSMS by something else within 24 h"
                self._finish(claim, MessageStatus.FAILED, detail, result)
                return SendOutcome(Outcome.FAILED, claim.request_id, detail)
            case _:
                return self._retry_or_close(claim, result, receive_count)

    def _accept(
        self, request: SendRequest, claim: ClaimedMessage, result: SendResult, detail: str
    ) -> SendOutcome:
        # Logged before the write: should the write fail, this line is the only record of the SMSID.
        logger.info("message accepted", extra={"sms_id": result.sms_id, "sandbox": request.sandbox})
        now = int(self._clock().timestamp())
        fields = {"sms_id": result.sms_id, "esms_code": result.code, "sandbox": request.sandbox}
        # A sandbox message stays ACCEPTED: eSMS keeps no sandbox message, so no report will come.
        check_at = None if request.sandbox else self._follow_up.check_at(now)
        self._write(
            claim,
            MessageStatus.ACCEPTED,
            detail,
            fields,
            keep={"accepted_at": now},
            check_at=check_at,
            keep_check_at=True,
        )
        count("MessagesAccepted")
        return SendOutcome(Outcome.ACCEPTED, request.request_id, detail)

    def _retry_or_close(self, claim: ClaimedMessage, result: SendResult, receive_count: int) -> SendOutcome:
        if result.result_class is ResultClass.ACCOUNT:
            count("AccountErrors")
            logger.error("eSMS account problem: an operator must act", extra={"reason": result.description})
        now = int(self._clock().timestamp())
        remaining = (claim.retry_until or now) - now
        if remaining <= 0:
            return self._close_window(claim, result)
        # The last retry lands at the window's end; the receive after it closes the window. A throttled
        # record waits for the backlog at the shared rate, not for an error's backoff.
        throttled = result.code == TPS_LIMIT_CODE and self._pacer is not None
        delay = min(
            self._throttle_delay(receive_count) if throttled else self._retry_delay(receive_count), remaining
        )
        fields = {"esms_code": result.code, "error": result.description}
        keep = {"uncertain_since": now} if result.possibly_accepted or claim.took_over else {}
        self._write(
            claim,
            MessageStatus.RETRYING,
            result.description,
            fields,
            keep=keep,
            check_at=now + remaining + self._policy.abandon_after_seconds,
            history=receive_count <= HISTORY_RECEIVES,
        )
        count("MessagesRetried")
        logger.info("send failed for now; will retry", extra={"reason": result.description, "delay": delay})
        return SendOutcome(Outcome.RETRY, claim.request_id, result.description, retry_after_seconds=delay)

    def _throttle_delay(self, receive_count: int) -> int:
        """Long enough for the backlog at the shared rate; and, as throttling persists, at least half an
        error's backoff, so that a record's receives over a window stay bounded (maxReceiveCount)."""
        assert self._pacer is not None
        with self._rng_lock:
            backlog = self._pacer.retry_delay(self._policy.throttle_backlog, self._rng)
        return max(backlog, self._retry_delay(receive_count) // 2)

    def _retry_delay(self, receive_count: int) -> int:
        with self._rng_lock:
            return retry_delay_seconds(
                receive_count, self._policy.retry_base_seconds, self._policy.retry_max_seconds, self._rng
            )

    def _close_window(self, claim: ClaimedMessage, last: SendResult | None) -> SendOutcome:
        """The retry window is over: FAILED or EXPIRED if eSMS certainly holds nothing, else WAITING."""
        now = int(self._clock().timestamp())
        last_error = last.description if last is not None else claim.error
        because = f" (last: {last_error})" if last_error else ""
        if claim.possibly_accepted or (last is not None and last.possibly_accepted):
            detail = "retry window over; an earlier attempt may have reached eSMS: waiting for its report"
            detail += because
            fields = {"esms_code": last.code if last else None, "error": detail}
            self._write(
                claim, MessageStatus.RETRYING, detail, fields, keep={"uncertain_since": now}, check_at=now
            )
            count("MessagesWaitingForReport")
            logger.warning("retry window over; waiting for a report", extra={"reason": detail})
            return SendOutcome(Outcome.WAITING, claim.request_id, detail)
        if claim.validity_ends_window:
            detail = f"not sent: its validity (ValidUntil) passed before eSMS accepted it{because}"
            self._finish(claim, MessageStatus.EXPIRED, detail, last)
            return SendOutcome(Outcome.EXPIRED, claim.request_id, detail)
        attempts = claim.attempts if last is not None else claim.attempts - 1  # this claim sent nothing
        detail = f"gave up after {attempts} attempts over the retry window{because}"
        self._finish(claim, MessageStatus.FAILED, detail, last)
        return SendOutcome(Outcome.FAILED, claim.request_id, detail)

    def _finish(
        self, claim: ClaimedMessage, status: MessageStatus, detail: str, result: SendResult | None
    ) -> None:
        self._write(claim, status, detail, {"esms_code": result.code if result else None, "error": detail})
        count(f"Messages{status.value.capitalize()}")
        logger.warning(f"message {status.value.lower()}", extra={"reason": detail})

    def _reject(
        self, violation: ContractViolation, delivery: SqsDelivery, fields: Mapping[str, object] | None = None
    ) -> SendOutcome:
        request_id = violation.request_id or delivery.message_id
        logger.thread_safe_append_keys(correlation_id=request_id)
        recorded = self._store.create_final(request_id, MessageStatus.REJECTED, violation.reason, fields)
        count("MessagesRejected")
        logger.warning(
            "message rejected: it breaks the producer contract",
            extra={"reason": violation.reason, "recorded": recorded},
        )
        return SendOutcome(Outcome.REJECTED, request_id, violation.reason)

    def _not_ready(
        self, request: ZaloSendRequest, delivery: SqsDelivery, error: ZnsRelayError
    ) -> SendOutcome:
        """Neither fingerprinted nor sealed (its secret or KMS failed): nothing was claimed or sent, and
        the record comes back after a retry's backoff."""
        logger.thread_safe_append_keys(correlation_id=request.request_id)
        if isinstance(error, ConfigurationError):
            count("AccountErrors")
        logger.error("cannot prepare the message; will retry", extra={"reason": str(error)})
        delay = self._retry_delay(delivery.receive_count)
        return SendOutcome(Outcome.RETRY, request.request_id, str(error), retry_after_seconds=delay)

    def _write(
        self,
        claim: ClaimedMessage,
        target: MessageStatus,
        detail: str,
        fields: Mapping[str, object],
        *,
        keep: Mapping[str, object] | None = None,
        check_at: int | None = None,
        keep_check_at: bool = False,
        history: bool = True,
    ) -> None:
        """Record a send's result: only from SENDING, and only while the claim is still ours."""
        if not self._store.transition(
            claim.request_id,
            target,
            detail,
            fields,
            keep_fields=keep,
            only_from=SENDING_ONLY,
            claim=claim,
            check_at=check_at,
            keep_check_at=keep_check_at,
            history=history,
        ):
            # A delivery report moved it on meanwhile, or our lease ran out and another took it over.
            logger.info("state write refused: the message moved on meanwhile", extra={"target": target})


def _zns_fields(request: ZaloSendRequest, fingerprint: str) -> dict[str, object]:
    return {
        "channel": None,  # absent: ZNS (as on items written before channels were recorded)
        "phone": request.phone,
        "temp_id": request.temp_id,
        "oa_id": request.oa_id,
        "campaign_id": request.campaign_id,
        "sandbox": request.sandbox,  # stored only when true
        "fingerprint": fingerprint,
    }


def _sms_fields(request: SmsSendRequest) -> dict[str, object]:
    return {
        "channel": Channel.SMS.value,
        "phone": request.phone,
        "campaign_id": request.campaign_id,
        "sandbox": request.sandbox,
        "fallback_for": request.fallback_for,
        "fingerprint": f"sms-fallback-of:{request.fallback_for}",  # one SMS per original
    }
