"""A message's SMS fallback planned when it is first handled (zns_relay.sender.fallback_plan)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from zns_relay.models.contract import ZnsMessage, parse_message_body
from zns_relay.models.errors import ContractViolation
from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.fallback import MAX_SMS_CHARS, FallbackRequest, FallbackTrigger
from zns_relay.sender.fallback_plan import FallbackPlan, plan_fallback
from zns_relay.sender.policy import SenderPolicy
from zns_relay.sender.requests import zalo_request

POLICY = SenderPolicy(default_oa_id="oa", sandbox_default=False, retry_window_seconds=3600)


def planned(
    fallback: dict[str, object] | None, policy: SenderPolicy = POLICY, **fields: object
) -> FallbackPlan | None:
    body = {"Phone": "0912345678", "TempID": "123", "TempData": {"otp": "4321"}, "RequestId": "r-1", **fields}
    if fallback is not None:
        body["Fallback"] = fallback
    message: ZnsMessage = parse_message_body(json.dumps(body))
    request: ZaloSendRequest = zalo_request(message, "sqs-1", datetime(2026, 11, 27, tzinfo=UTC), policy)
    return plan_fallback(message, request, policy)


def test_a_message_asking_no_fallback_under_a_deployment_with_none_has_none() -> None:
    assert planned(None) is None


def test_the_text_is_filled_from_tempdata_and_the_deployments_triggers_apply_when_it_names_none() -> None:
    plan = planned({"Content": "Your code is {otp}", "Brandname": "BRAND"})
    assert plan == FallbackPlan(
        content="Your code is 4321",
        brandname="BRAND",
        is_unicode=False,
        on=[FallbackTrigger.NO_ZALO, FallbackTrigger.INACTIVE],
    )


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (None, [FallbackTrigger.NO_ZALO, FallbackTrigger.INACTIVE]),
        (["unknown"], [FallbackTrigger.UNKNOWN]),
        (["failed", "template_refused"], [FallbackTrigger.FAILED, FallbackTrigger.TEMPLATE_REFUSED]),
    ],
)
def test_the_fallback_is_sent_on_the_outcomes_its_on_names_else_the_deployments(
    on: list[str] | None, expected: list[FallbackTrigger]
) -> None:
    asked: dict[str, object] = {"Content": "code {otp}", "Brandname": "BRAND"}
    if on is not None:
        asked["On"] = on
    plan = planned(asked)
    assert plan is not None
    assert plan.on == expected


@pytest.mark.parametrize(
    ("content", "is_unicode", "expected"),
    [
        ("Your code is {otp}", None, False),  # GSM text: no Unicode needed
        ("Mã của bạn là {otp}", None, True),  # Vietnamese diacritics need Unicode
        ("Your code is {otp}", "1", True),  # asked for explicitly
        ("Mã {otp}", "0", False),
    ],
)
def test_unicode_is_what_the_fallback_asks_else_whether_its_text_is_gsm(
    content: str, is_unicode: str | None, expected: bool
) -> None:
    asked: dict[str, object] = {"Content": content, "Brandname": "BRAND"}
    if is_unicode is not None:
        asked["IsUnicode"] = is_unicode
    plan = planned(asked)
    assert plan is not None
    assert plan.is_unicode is expected


def test_the_deployments_default_fallback_for_the_template_and_its_default_brandname_apply() -> None:
    policy = SenderPolicy(
        "oa",
        False,
        3600,
        default_brandname="HOUSE",
        fallback_defaults={"123": FallbackRequest.model_validate({"Content": "code {otp}"})},
    )
    plan = planned(None, policy)
    assert plan is not None
    assert (plan.content, plan.brandname) == ("code 4321", "HOUSE")


def test_a_sandbox_message_plans_no_fallback_but_still_learns_its_brandname_is_not_allowed() -> None:
    assert planned({"Content": "code {otp}", "Brandname": "BRAND"}, Sandbox="1") is None
    policy = SenderPolicy("oa", False, 3600, allowed_brandnames=frozenset({"HOUSE"}))
    with pytest.raises(ContractViolation) as raised:
        planned({"Content": "code {otp}", "Brandname": "BRAND"}, policy, Sandbox="1")
    assert raised.value.reason == "Fallback.Brandname: BRAND is not one this deployment sends under"


@pytest.mark.parametrize(
    ("asked", "policy", "reason"),
    [
        (
            {"Content": "code {otp} for {name}", "Brandname": "BRAND"},
            POLICY,
            "Fallback.Content names name, which TempData lacks",
        ),
        (
            {"Content": "code {otp}"},
            POLICY,
            "Fallback names no Brandname, and this deployment has no DefaultBrandname",
        ),
    ],
)
def test_a_fallback_esms_would_refuse_once_the_message_failed_is_a_contract_violation_now(
    asked: dict[str, object], policy: SenderPolicy, reason: str
) -> None:
    with pytest.raises(ContractViolation) as raised:
        planned(asked, policy)
    assert (raised.value.reason, raised.value.request_id) == (reason, "r-1")


def test_a_plan_is_stored_with_its_text_sealed_and_every_default_applied() -> None:
    plan = FallbackPlan(
        content="code 4321", brandname="BRAND", is_unicode=False, on=[FallbackTrigger.UNKNOWN]
    )
    assert plan.stored("c2VhbGVk") == {
        "sealed_content": "c2VhbGVk",
        "brandname": "BRAND",
        "is_unicode": False,
        "on": ["unknown"],
    }


def test_a_text_longer_than_an_sms_once_filled_from_tempdata_is_a_contract_violation_now() -> None:
    asked: dict[str, object] = {"Content": "x" * (MAX_SMS_CHARS - 6) + "{name}", "Brandname": "BRAND"}
    with pytest.raises(ContractViolation) as raised:
        planned(asked, TempData={"otp": "4321", "name": "y" * 20})
    reason = f"Fallback.Content filled from TempData is {MAX_SMS_CHARS + 14} characters, over {MAX_SMS_CHARS}"
    assert raised.value.reason == reason
