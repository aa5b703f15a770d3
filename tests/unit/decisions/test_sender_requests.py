"""A queued message resolved into its eSMS request by the deployment's rules (zns_relay.sender.requests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from zns_relay.models.contract import parse_message_body
from zns_relay.models.errors import ContractViolation
from zns_relay.models.fallback_job import FallbackJob
from zns_relay.sender.policy import SenderPolicy
from zns_relay.sender.requests import sms_request, valid_until, zalo_request

PUBLISHED = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
POLICY = SenderPolicy(default_oa_id="oa-default", sandbox_default=False, retry_window_seconds=3600)


def message(**fields: object) -> str:
    return json.dumps({"Phone": "0912345678", "TempID": "123", "TempData": {"otp": "4321"}, **fields})


def test_a_message_without_oaid_or_requestid_takes_the_deployments_oa_and_the_sqs_message_id() -> None:
    request = zalo_request(parse_message_body(message()), "sqs-1", PUBLISHED, POLICY)
    assert (request.oa_id, request.request_id, request.sandbox) == ("oa-default", "sqs-1", False)
    assert request.temp_id == "123"


def test_a_message_names_its_own_oa_and_requestid() -> None:
    request = zalo_request(
        parse_message_body(message(OAID="oa-7", RequestId="r-1")), "sqs-1", PUBLISHED, POLICY
    )
    assert (request.oa_id, request.request_id) == ("oa-7", "r-1")


@pytest.mark.parametrize(
    ("fields", "policy", "reason"),
    [
        ({}, SenderPolicy("", False, 3600), "OAID: required, since this deployment has no DefaultOaId"),
        (
            {"OAID": "oa-9"},
            SenderPolicy("oa-default", False, 3600, allowed_oa_ids=frozenset({"oa-default"})),
            "OAID: oa-9 is not one this deployment sends for",
        ),
    ],
)
def test_an_oa_the_deployment_cannot_send_for_is_a_contract_violation(
    fields: dict[str, object], policy: SenderPolicy, reason: str
) -> None:
    with pytest.raises(ContractViolation) as raised:
        zalo_request(parse_message_body(message(RequestId="r-1", **fields)), "sqs-1", PUBLISHED, policy)
    assert (raised.value.reason, raised.value.request_id) == (reason, "r-1")


@pytest.mark.parametrize(
    ("asked", "sandbox_default", "force_sandbox", "sandbox"),
    [
        (None, False, False, False),
        (None, True, False, True),
        ("0", True, False, False),
        ("1", False, False, True),
        ("0", False, True, True),  # a dev stage sends nothing for real, whatever the message asks
    ],
)
def test_sandbox_is_the_messages_else_the_deployments_default_and_always_on_a_dev_stage(
    asked: str | None, sandbox_default: bool, force_sandbox: bool, sandbox: bool
) -> None:
    policy = SenderPolicy("oa", sandbox_default, 3600, force_sandbox=force_sandbox)
    body = message(**({"Sandbox": asked} if asked is not None else {}))
    assert zalo_request(parse_message_body(body), "sqs-1", PUBLISHED, policy).sandbox is sandbox


@pytest.mark.parametrize(
    ("fields", "default_validity", "expected"),
    [
        ({}, 0, None),  # no ValidUntil, no default validity: never expires
        ({}, 600, int(PUBLISHED.timestamp()) + 600),  # the default counts from publication
        (
            {"ValidUntil": "2026-11-27T18:00:00+07:00"},
            600,
            int(datetime(2026, 11, 27, 11, tzinfo=UTC).timestamp()),
        ),
    ],
)
def test_valid_until_is_the_messages_else_the_default_validity_from_publication(
    fields: dict[str, object], default_validity: int, expected: int | None
) -> None:
    policy = SenderPolicy("oa", False, 3600, default_validity_seconds=default_validity)
    assert valid_until(parse_message_body(message(**fields)), PUBLISHED, policy) == expected


@pytest.mark.parametrize(("job_sandbox", "force_sandbox"), [(False, False), (True, False), (False, True)])
def test_an_sms_fallback_request_leaves_its_text_sealed_and_is_sandboxed_as_its_message_or_the_stage(
    job_sandbox: bool, force_sandbox: bool
) -> None:
    job = FallbackJob(
        request_id="r-1:sms",
        fallback_for="r-1",
        phone="0912345678",
        sealed_content="c2VhbGVk",
        brandname="BRAND",
        is_unicode=False,
        sandbox=job_sandbox,
    )
    request = sms_request(job, SenderPolicy("oa", False, 3600, force_sandbox=force_sandbox))
    assert request.content == ""
    assert (request.request_id, request.fallback_for, request.brandname) == ("r-1:sms", "r-1", "BRAND")
    assert request.sandbox is (job_sandbox or force_sandbox)
