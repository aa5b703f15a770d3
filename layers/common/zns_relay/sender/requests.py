"""What a queued message or fallback job asks eSMS to send, by the deployment's rules, and the fields
its item is created with."""

from __future__ import annotations

from datetime import datetime, timedelta

from zns_relay.models.contract import ZnsMessage, schedule_problem
from zns_relay.models.errors import ContractViolation
from zns_relay.models.esms import SmsSendRequest, ZaloSendRequest
from zns_relay.models.fallback_job import FallbackJob
from zns_relay.models.state import Channel
from zns_relay.sender.policy import SenderPolicy
from zns_relay.store.records import DeferredMessage


def zalo_request(
    message: ZnsMessage, message_id: str, sent_at: datetime, policy: SenderPolicy
) -> ZaloSendRequest:
    """The send request, by the deployment's rules: its OA, its sandbox, the schedule's bounds.

    `message_id` (the SQS record's) stands in for a missing RequestId; `sent_at` is when the producer
    published it. ContractViolation when the message breaks the rules.
    """
    request_id = message.request_id or message_id
    oa_id = message.oa_id or policy.default_oa_id
    if not oa_id:
        raise ContractViolation("OAID: required, since this deployment has no DefaultOaId", request_id)
    if policy.allowed_oa_ids and oa_id not in policy.allowed_oa_ids:
        raise ContractViolation(f"OAID: {oa_id} is not one this deployment sends for", request_id)
    # Against the time the producer published it, not this receive's: a scheduled message still
    # retrying after its SendDate is sent, not rejected.
    problem = schedule_problem(message, sent_at)
    if problem:
        raise ContractViolation(problem, request_id)
    sandbox = message.sandbox == "1" if message.sandbox is not None else policy.sandbox_default
    return ZaloSendRequest(
        phone=message.phone,
        oa_id=oa_id,
        temp_id=message.temp_id,
        temp_data=message.template_params(),
        request_id=request_id,
        sandbox=sandbox or policy.force_sandbox,
        send_date=message.send_date,
        campaign_id=message.campaign_id,
        sending_mode=message.sending_mode,
    )


def resend_request(record: DeferredMessage) -> ZaloSendRequest:
    """A DEFERRED message's send request from its item, its TempData left out: it stays sealed until a
    delivery holds the claim (zns_relay.sender.temp_data_seal), and is opened only to send it. Its own
    RequestId is the item's; eSMS gets its attempt's (zns_relay.models.zalo_rules.attempt_request_id)."""
    return ZaloSendRequest(
        phone=record.phone or "",
        oa_id=record.oa_id or "",
        temp_id=record.temp_id or "",
        temp_data=(),
        request_id=record.request_id,
        sandbox=False,  # a sandbox message is never deferred: eSMS reports nothing of it
        campaign_id=record.campaign_id,
    )


def sms_request(job: FallbackJob, policy: SenderPolicy) -> SmsSendRequest:
    """The SMS fallback's send request, its text left out: it stays sealed until a delivery holds the
    claim, and is opened only to send it."""
    return SmsSendRequest(
        phone=job.phone,
        content="",
        brandname=job.brandname,
        is_unicode=job.is_unicode,
        request_id=job.request_id,
        sandbox=job.sandbox or policy.force_sandbox,
        fallback_for=job.fallback_for,
        campaign_id=job.campaign_id,
    )


def valid_until(message: ZnsMessage, sent_at: datetime, policy: SenderPolicy) -> int | None:
    """When the message stops being worth sending (epoch seconds): its ValidUntil, else the deployment's
    default validity from when it was published; None: never."""
    until = message.valid_until
    if until is None and policy.default_validity_seconds:
        until = sent_at + timedelta(seconds=policy.default_validity_seconds)
    return int(until.timestamp()) if until is not None else None


def zns_fields(
    request: ZaloSendRequest,
    fingerprint: str,
    fallback: dict[str, object] | None,
    sealed_temp_data: bytes | None = None,
) -> dict[str, object]:
    """The fields a ZNS message's item is created with; `fallback` is its planned SMS, sealed, and
    `sealed_temp_data` its TempData, sealed for a resend should Zalo defer it."""
    return {
        "sealed_temp_data": sealed_temp_data,
        "channel": None,  # absent: ZNS (as on items written before channels were recorded)
        "phone": request.phone,
        "temp_id": request.temp_id,
        "oa_id": request.oa_id,
        "campaign_id": request.campaign_id,
        "sandbox": request.sandbox,  # stored only when true
        "fingerprint": fingerprint,
        "fallback": fallback,
    }


def sms_fields(request: SmsSendRequest) -> dict[str, object]:
    """The fields an SMS fallback's item is created with."""
    return {
        "channel": Channel.SMS.value,
        "phone": request.phone,
        "campaign_id": request.campaign_id,
        "sandbox": request.sandbox,
        "fallback_for": request.fallback_for,
        "fingerprint": f"sms-fallback-of:{request.fallback_for}",  # one SMS per original
    }
