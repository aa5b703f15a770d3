"""The relay's own jobs on FallbackQueue, made ready to send: an SMS fallback (its text sealed in the
job) and the resend of a DEFERRED message (everything in its item, its TempData sealed there)."""

from __future__ import annotations

from dataclasses import replace

from zns_relay.config.observability import count, logger
from zns_relay.models.esms import SendRequest, SmsSendRequest, ZaloSendRequest
from zns_relay.models.fallback_job import FallbackJob, ResendJob
from zns_relay.models.state import MessageStatus
from zns_relay.sender import requests
from zns_relay.sender.delivery import Outcome, Sendable, SendOutcome
from zns_relay.sender.policy import SenderPolicy
from zns_relay.sender.pre_send import PreSendChecks
from zns_relay.sender.sealing import FallbackTexts
from zns_relay.sender.temp_data_seal import TempDataSeals
from zns_relay.store.deferred import DeferredMessages

# Where a resend job finds its message when there is something to send (store.claim's `resend`).
RESENDABLE = frozenset({MessageStatus.DEFERRED, MessageStatus.RETRYING, MessageStatus.SENDING})


class QueuedJobs:
    def __init__(
        self,
        deferred: DeferredMessages,
        fallback_texts: FallbackTexts,
        seals: TempDataSeals,
        checks: PreSendChecks,
        policy: SenderPolicy,
    ) -> None:
        self._deferred = deferred
        self._fallback_texts = fallback_texts
        self._seals = seals
        self._checks = checks
        self._policy = policy

    def prepare(self, job: FallbackJob | ResendJob) -> Sendable | SendOutcome:
        """What to send for `job`; the outcome instead when there is nothing to send."""
        return self._resend(job) if isinstance(job, ResendJob) else self._sms(job)

    def _sms(self, job: FallbackJob) -> Sendable:
        request = requests.sms_request(job, self._policy)

        def reveal(request: SendRequest) -> SendRequest:
            assert isinstance(request, SmsSendRequest)
            return replace(
                request, content=self._fallback_texts.open(job.sealed_content, request.fallback_for)
            )

        return Sendable(request, requests.sms_fields(request), job.valid_until, reveal)

    def _resend(self, job: ResendJob) -> Sendable | SendOutcome:
        """Only a message still DEFERRED is sent again, or one its resend left RETRYING or mid-send (the
        job comes back after a retry's backoff or a crash); a repeated job finds it moved on. The
        person's refusal since, or a pause that still lasts, holds it back as for a first attempt."""
        logger.thread_safe_append_keys(correlation_id=job.resend)
        record = self._deferred.get(job.resend)
        if record is None or record.status not in RESENDABLE:
            count("DuplicatesSkipped")
            now_in = record.status.value if record else "gone"
            return SendOutcome(Outcome.SKIPPED, job.resend, f"no longer deferred ({now_in})")
        request = requests.resend_request(record)
        sealed = record.sealed_temp_data or b""  # none never opens: the attempt fails, not the job

        def reveal(request: SendRequest) -> SendRequest:
            assert isinstance(request, ZaloSendRequest)
            return replace(request, temp_data=self._seals.open(sealed, request))

        held = self._checks.held_back(request)
        return Sendable(request, {}, record.valid_until, reveal, held=held, resend=True)
