"""The SMS fallback's pure rules: its RequestId, its text, and which outcomes send it."""

from __future__ import annotations

import re

import pytest

from zns_relay.models.contract import REQUEST_ID_PATTERN
from zns_relay.models.fallback import (
    FallbackTrigger,
    PlannedFallback,
    fill_content,
    is_gsm_text,
    outcome_trigger,
    sms_request_id,
)
from zns_relay.models.state import MessageRecord


@pytest.mark.parametrize("original", ["otp-1", "a" * 46, "a" * 47, "b" * 50, "order:DH-2405.confirm"])
def test_the_sms_request_id_is_one_per_original_within_esms_50_characters(original: str) -> None:
    derived = sms_request_id(original)
    assert len(derived) <= 50
    assert derived.endswith(":sms")
    assert sms_request_id(original) == derived
    assert re.fullmatch(REQUEST_ID_PATTERN, derived)


def test_long_originals_sharing_a_prefix_get_different_sms_request_ids() -> None:
    assert sms_request_id("x" * 48 + "1") != sms_request_id("x" * 48 + "2")


def test_content_placeholders_are_filled_from_tempdata() -> None:
    assert (
        fill_content("Ma OTP cua {name} la {otp}", {"name": "An", "otp": "1234"}) == "Ma OTP cua An la 1234"
    )


@pytest.mark.parametrize(("text", "gsm"), [("Ma OTP la 1234", True), ("Mã OTP là 1234", False)])
def test_vietnamese_diacritics_need_a_unicode_sms(text: str, gsm: bool) -> None:
    assert is_gsm_text(text) is gsm


@pytest.mark.parametrize(
    ("status", "esms_code", "zalo_codes", "trigger"),
    [
        ("FAILED", "100", ["-118"], FallbackTrigger.NO_ZALO),
        ("FAILED", "100", ["-114", "-118"], FallbackTrigger.INACTIVE),  # the newest report decides
        ("FAILED", "789", [], FallbackTrigger.TEMPLATE_REFUSED),
        ("FAILED", "100", ["-124"], FallbackTrigger.FAILED),
        ("FAILED", None, [], FallbackTrigger.FAILED),
        ("UNKNOWN", "100", [], FallbackTrigger.UNKNOWN),
        ("DELIVERED", "100", [], None),
        ("EXPIRED", None, [], None),
        ("REJECTED", None, [], None),
    ],
)
def test_each_final_outcome_has_its_trigger(
    status: str, esms_code: str | None, zalo_codes: list[str], trigger: FallbackTrigger | None
) -> None:
    assert outcome_trigger(status, esms_code, zalo_codes) is trigger


@pytest.mark.parametrize(
    ("on", "trigger", "applies"),
    [
        ([FallbackTrigger.NO_ZALO], FallbackTrigger.NO_ZALO, True),
        ([FallbackTrigger.NO_ZALO], FallbackTrigger.INACTIVE, False),
        ([FallbackTrigger.FAILED], FallbackTrigger.TEMPLATE_REFUSED, True),
        ([FallbackTrigger.FAILED], FallbackTrigger.UNKNOWN, False),
        ([FallbackTrigger.UNKNOWN], FallbackTrigger.UNKNOWN, True),
        ([FallbackTrigger.FAILED, FallbackTrigger.UNKNOWN], None, False),
    ],
)
def test_failed_covers_every_failure_but_not_an_unknown_outcome(
    on: list[FallbackTrigger], trigger: FallbackTrigger | None, applies: bool
) -> None:
    planned = PlannedFallback(sealed_content="x", brandname="B", is_unicode=False, on=on)
    assert planned.applies_to(trigger) is applies


def test_a_fallback_planned_in_plain_text_by_an_earlier_version_is_read_as_none() -> None:
    # Given an item an earlier version wrote: its planned fallback holds the filled text in plain text
    item = {
        "request_id": "otp-1", "status": "ACCEPTED", "created_at": "2026-11-27T08:00:00.000Z",
        "updated_at": "2026-11-27T08:00:00.000Z", "expires_at": 4102444800,
        "fallback": {"content": "Ma OTP la 482913", "brandname": "B", "is_unicode": False, "on": ["no_zalo"]},
    }  # fmt: skip
    # Then it reads (the publisher and FallbackFunction go on), with no fallback to send
    assert MessageRecord.model_validate(item).fallback is None
