"""The person's refusals: what a report teaches, the records' keys, which record holds a message back,
and the sender's FAILED write, which carries Zalo's code so that the `refused` fallback trigger applies."""

from __future__ import annotations

import pytest

from zns_relay.models.fallback import FallbackTrigger, outcome_trigger
from zns_relay.models.state import MessageStatus
from zns_relay.models.suppression import (
    Suppression,
    holding_back,
    keys_for,
    suppression_from,
    suppression_key,
)
from zns_relay.sender.recording import suppressed_write

SINCE = "2026-12-06T15:00:00.000Z"
OA, PHONE, TEMP = "4097311281936189049", "84901234567", "257541"


def refusal(code: int, temp_id: str | None = None, oa_id: str = OA, phone: str = PHONE) -> Suppression:
    return Suppression(oa_id, phone, temp_id, code, SINCE, "otp-1")


def test_keys_name_the_oa_and_phone_and_for_a_type_refusal_the_template() -> None:
    assert suppression_key(OA, PHONE) == f"suppress#{OA}#{PHONE}"
    assert suppression_key(OA, PHONE, TEMP) == f"suppress#{OA}#{PHONE}#{TEMP}"
    assert keys_for(OA, PHONE, TEMP) == (f"suppress#{OA}#{PHONE}", f"suppress#{OA}#{PHONE}#{TEMP}")
    assert refusal(-141).key == f"suppress#{OA}#{PHONE}"
    assert refusal(-139, TEMP).key == f"suppress#{OA}#{PHONE}#{TEMP}"


@pytest.mark.parametrize(
    ("code", "oa_id", "phone", "temp_id", "expected"),
    [
        (-141, OA, PHONE, TEMP, refusal(-141)),  # the whole OA: the template does not matter
        (-139, OA, PHONE, TEMP, refusal(-139, TEMP)),  # this type: keyed by the template
        (-139, OA, PHONE, None, None),  # no template to key it by
        (-141, None, PHONE, TEMP, None),  # no OA
        (-141, OA, None, TEMP, None),  # no phone
        (-118, OA, PHONE, TEMP, None),  # the message's own fault, not a refusal
        (-133, OA, PHONE, TEMP, None),  # Zalo's rule for now, not the person's choice
        (None, OA, PHONE, TEMP, None),
    ],
)
def test_what_a_failed_message_teaches(
    code: int | None, oa_id: str | None, phone: str | None, temp_id: str | None, expected: Suppression | None
) -> None:
    taught = suppression_from(
        code, oa_id=oa_id, phone=phone, temp_id=temp_id, request_id="otp-1", since=SINCE
    )
    assert taught == expected


@pytest.mark.parametrize(
    ("found", "temp_id", "expected"),
    [
        ([], TEMP, None),
        ([refusal(-141)], TEMP, refusal(-141)),
        ([refusal(-141)], "other", refusal(-141)),  # the OA's refusal covers every template
        ([refusal(-139, TEMP)], TEMP, refusal(-139, TEMP)),
        ([refusal(-139, TEMP)], "other", None),  # only that template
        ([refusal(-139, TEMP), refusal(-141)], TEMP, refusal(-141)),  # the OA's first
        ([refusal(-141, oa_id="another OA")], TEMP, None),
        ([refusal(-141, phone="84900000000")], TEMP, None),
    ],
)
def test_which_record_holds_a_message_back(
    found: list[Suppression], temp_id: str, expected: Suppression | None
) -> None:
    assert holding_back(found, OA, PHONE, temp_id) == expected


@pytest.mark.parametrize(
    ("held", "reason"),
    [
        (refusal(-141), "not sent: the person refused ZNS from this OA (Zalo -141) on 2026-12-06"),
        (
            refusal(-139, TEMP),
            f"not sent: the person refused ZNS from template {TEMP} of this OA (Zalo -139) on 2026-12-06",
        ),
    ],
)
def test_a_held_message_fails_with_the_reason_and_no_esms_code(held: Suppression, reason: str) -> None:
    write = suppressed_write(held)
    assert (write.status, write.detail) == (MessageStatus.FAILED, reason)
    assert write.fields == {"esms_code": None, "error": reason}
    assert write.data is not None
    # Its history entry's Zalo code makes it the `refused` outcome
    assert outcome_trigger("FAILED", None, [write.data["error_code"]]) is FallbackTrigger.REFUSED


@pytest.mark.parametrize("code", ["-141", "-139", -141])
def test_the_persons_refusal_is_the_refused_trigger(code: object) -> None:
    assert outcome_trigger("FAILED", None, [code]) is FallbackTrigger.REFUSED
