"""The send logic: validate, claim, send once, record the result by the failure policy
(zns_relay.sender.failure_policy). This module orchestrates: the decisions are pure functions in the
modules it imports (requests, fallback_plan, failure_policy, recording), and what comes before a claim
and after a lost one are pre_send's and claim_conflicts'."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import count, logger
from zns_relay.models.contract import parse_message_body
from zns_relay.models.errors import ConfigurationError, ContractViolation, ZnsRelayError
from zns_relay.models.esms import (
    EsmsCredentials,
    ResultClass,
    SendRequest,
    SendResult,
    ZaloSendRequest,
)
from zns_relay.models.fallback_job import parse_queued_job
from zns_relay.models.state import Channel
from zns_relay.models.zalo_rules import attempt_request_id
from zns_relay.reports.callback_url import CallbackSigner
from zns_relay.reports.delivery import FollowUp
from zns_relay.sender import failure_policy, recording, requests
from zns_relay.sender.claim_conflicts import ClaimConflicts
from zns_relay.sender.delays import RetryDelays
from zns_relay.sender.delivery import Outcome, Sendable, SendOutcome, SqsDelivery
from zns_relay.sender.esms_calls import EsmsCalls, EsmsSender
from zns_relay.sender.failure_policy import Accept, Decision, Finish, Retry, WaitForReport
from zns_relay.sender.fallback_plan import plan_fallback
from zns_relay.sender.fingerprint import MessageFingerprints
from zns_relay.sender.jobs import QueuedJobs
from zns_relay.sender.pacing import SendPacer
from zns_relay.sender.policy import SenderPolicy
from zns_relay.sender.pre_send import PreSendChecks
from zns_relay.sender.recording import handed_back
from zns_relay.sender.sealing import FallbackTexts, SealedTextUnavailable
from zns_relay.sender.temp_data_seal import TempDataSeals
from zns_relay.sender.template_limits import TemplateLimits
from zns_relay.store.deferred import DeferredMessages
from zns_relay.store.holds import HoldRecords
from zns_relay.store.messages import Clock, MessageStore, utc_now
from zns_relay.store.records import ClaimedMessage, ClaimLost

# A claim's lease outlives the invocation by this much: only then may another delivery take it over.
LEASE_MARGIN_SECONDS = 5


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
        temp_data_seals: TempDataSeals,
        deferred: DeferredMessages,
        policy: SenderPolicy,
        follow_up: FollowUp,
        templates: TemplateLimits,
        holds: HoldRecords,
        pacer: SendPacer | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._recorder = recording.Recorder(store)
        self._esms = EsmsCalls(esms, credentials, pacer)
        self._signer = signer
        self._fingerprints = fingerprints
        self._fallback_texts = fallback_texts
        self._seals = temp_data_seals
        self._policy = policy
        self._follow_up = follow_up
        self._checks = PreSendChecks(templates, holds, policy.min_seconds_to_send)
        self._conflicts = ClaimConflicts(fingerprints, self._recorder)
        self._jobs = QueuedJobs(deferred, fallback_texts, temp_data_seals, self._checks, policy)
        self._pacer = pacer
        self._clock = clock
        self._delays = RetryDelays(policy, pacer, rng)

    def process(self, delivery: SqsDelivery, seconds_left: Callable[[], float]) -> SendOutcome:
        """Send one queued ZNS message; `seconds_left()` tells what remains of the invocation."""
        try:
            message = parse_message_body(delivery.body)
            request = requests.zalo_request(message, delivery.message_id, delivery.sent_at, self._policy)
            fallback = plan_fallback(message, request, self._policy)
        except ContractViolation as violation:
            return self._reject(violation, delivery)
        logger.thread_safe_append_keys(correlation_id=request.request_id)  # the RequestId
        held = self._checks.held_back(request)  # the person refused, or Zalo paused its OA or template
        try:
            fingerprints = self._fingerprints.of(request)
            sealed = self._fallback_texts.seal(fallback.content, request.request_id) if fallback else ""
            # Kept for a resend, should Zalo defer it; a sandbox message never is (no report comes).
            temp_data = None if request.sandbox else self._seals.seal(request)
        except (ConfigurationError, SealedTextUnavailable) as error:
            return self._not_ready(request, delivery, error)
        planned = fallback.stored(sealed) if fallback else None
        fields = requests.zns_fields(request, fingerprints[0], planned, temp_data)
        problem = self._checks.template_problem(request, seconds_left)
        if problem and (refused := self._recorder.refused_unclaimed(request.request_id, problem, fields)):
            return refused  # REJECTED before any send (a message tried before is left to the claim)
        valid_until = requests.valid_until(message, delivery.sent_at, self._policy)
        sendable = Sendable(request, fields, valid_until, earlier_fingerprints=fingerprints[1:], held=held)
        return self._deliver(sendable, delivery, seconds_left)

    def process_fallback(self, delivery: SqsDelivery, seconds_left: Callable[[], float]) -> SendOutcome:
        """Send one of the relay's own jobs (zns_relay.sender.jobs): an SMS fallback, queued when its
        ZNS message ended, or a DEFERRED message due again, queued by the reconciler."""
        try:
            job = parse_queued_job(delivery.body)
        except ContractViolation as violation:
            return self._reject(violation, delivery, {"channel": Channel.SMS.value})
        prepared = self._jobs.prepare(job)
        return (
            prepared if isinstance(prepared, SendOutcome) else self._deliver(prepared, delivery, seconds_left)
        )

    def _deliver(
        self, sendable: Sendable, delivery: SqsDelivery, seconds_left: Callable[[], float]
    ) -> SendOutcome:
        """Claim, send once, record: the same for a ZNS message, its resend and its SMS fallback."""
        request, fields, valid_until = sendable.request, sendable.fields, sendable.valid_until
        logger.thread_safe_append_keys(correlation_id=request.request_id)  # the RequestId
        spare = seconds_left() - self._policy.min_seconds_to_send
        if spare < 0:
            return handed_back(request.request_id, "too little time left to send")
        now = self._now()
        window = failure_policy.retry_window(valid_until, now, self._policy.retry_window_seconds)
        if (
            valid_until is not None
            and now >= valid_until
            and self._recorder.expired_unclaimed(request.request_id, fields)
        ):
            return SendOutcome(Outcome.EXPIRED, request.request_id, "validity passed before any attempt")
        if self._pacer is not None and not self._pacer.turn(max_wait=spare):
            delay = self._delays.after(delivery.receive_count, throttled=True)
            return handed_back(request.request_id, "no send slot in time", delay)
        now = self._now()
        claim = self._store.claim(
            request.request_id,
            fields,
            int(seconds_left()) + LEASE_MARGIN_SECONDS,
            check_at=failure_policy.first_look(
                window, self._policy.abandon_after_seconds, self._follow_up.check_at(now)
            ),
            keep_fields={"retry_until": window.retry_until, "valid_until": window.valid_until},
            history=recording.keeps_history(delivery.receive_count),
            earlier_fingerprints=sendable.earlier_fingerprints,
            resend=sendable.resend,
        )
        if isinstance(claim, ClaimLost):
            return self._conflicts.settle(claim, request, delivery, now, resend=sendable.resend)
        receives = delivery.receive_count
        if failure_policy.window_ended(claim, window, now):
            closed = failure_policy.close_window(claim, None)
            return self._apply(closed, claim, None, sandbox=request.sandbox, receives=receives, now=now)
        # Claimed first: a fallback asking for `refused` goes from its end.
        if sendable.held is not None and (held := recording.held_write(sendable.held, claim)) is not None:
            return self._recorder.held(claim, held)
        result = self._attempt(request, claim, sendable.reveal)
        now = self._now()
        decision = failure_policy.judge(result, claim, now)
        return self._apply(decision, claim, result, sandbox=request.sandbox, receives=receives, now=now)

    def _attempt(
        self, request: SendRequest, claim: ClaimedMessage, reveal: Callable[[SendRequest], SendRequest] | None
    ) -> SendResult:
        """Send the claimed message once: its result, or a failure to get as far as sending it as one."""
        try:
            if reveal is not None:
                request = reveal(request)
            result = self._esms.send(self._with_callback(request, claim))
        except ConfigurationError as error:
            count("AccountErrors")
            logger.error("cannot send: configuration", extra={"reason": str(error)})
            result = SendResult(ResultClass.ACCOUNT, None, message=f"configuration: {error}")
        except SealedTextUnavailable as error:  # a text that never opens fails it; a KMS fault is retried
            logger.error("cannot open what was sealed for sending", extra={"reason": str(error)})
            kind = ResultClass.PERMANENT if error.permanent else ResultClass.TRANSIENT
            result = SendResult(kind, None, message=str(error))
        if result.result_class is ResultClass.ACCOUNT:
            count("AccountErrors")
            logger.error("eSMS account problem: an operator must act", extra={"reason": result.description})
        return result

    def _apply(
        self,
        decision: Decision,
        claim: ClaimedMessage,
        last: SendResult | None,
        *,
        sandbox: bool,
        receives: int,
        now: int,
    ) -> SendOutcome:
        """Record what the failure policy decided, and say what becomes of the record."""
        match decision:
            case Accept() if last is not None:
                check_at = self._follow_up.check_at(now)
                write = recording.accepted_write(decision, last, sandbox=sandbox, now=now, check_at=check_at)
                return self._recorder.accepted(claim, write, last)
            case Retry() if last is not None:
                delay = self._delays.after(receives, throttled=decision.throttled)
                abandon = self._policy.abandon_after_seconds
                history = recording.keeps_history(receives)
                write = recording.retry_write(decision, last, now=now, abandon_after=abandon, history=history)
                return self._recorder.retrying(claim, write, min(delay, decision.within_seconds))
            case WaitForReport():
                return self._recorder.waiting(claim, recording.waiting_write(decision, last, now=now))
            case Finish():
                return self._recorder.finished(claim, recording.finish_write(decision, last))
        raise AssertionError(f"{decision} without a send result")

    def _with_callback(self, request: SendRequest, claim: ClaimedMessage) -> SendRequest:
        """The request as eSMS gets it: the RequestId of its attempt (a new one after each deferral),
        and its CallbackUrl, signed for the message's nonce; none for a sandbox send (eSMS keeps no
        sandbox message, so no report will come)."""
        if isinstance(request, ZaloSendRequest) and claim.deferrals:
            request = replace(request, request_id=attempt_request_id(claim.request_id, claim.deferrals))
        if request.sandbox or self._signer is None:
            return request
        return replace(request, callback_url=self._signer.url_for(claim.request_id, claim.callback_nonce))

    def _reject(
        self, violation: ContractViolation, delivery: SqsDelivery, fields: Mapping[str, object] | None = None
    ) -> SendOutcome:
        request_id = violation.request_id or delivery.message_id
        logger.thread_safe_append_keys(correlation_id=request_id)
        return self._recorder.rejected(violation, request_id, fields)

    def _not_ready(
        self, request: ZaloSendRequest, delivery: SqsDelivery, error: ZnsRelayError
    ) -> SendOutcome:
        """Neither fingerprinted nor sealed (its secret or KMS failed): nothing was claimed or sent, and
        the record comes back after a retry's backoff."""
        logger.thread_safe_append_keys(correlation_id=request.request_id)
        if isinstance(error, ConfigurationError):
            count("AccountErrors")
        logger.error("cannot prepare the message; will retry", extra={"reason": str(error)})
        delay = self._delays.after(delivery.receive_count)
        return SendOutcome(Outcome.RETRY, request.request_id, str(error), retry_after_seconds=delay)

    def _now(self) -> int:
        return int(self._clock().timestamp())
