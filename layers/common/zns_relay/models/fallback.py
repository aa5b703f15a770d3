"""The SMS fallback: what a producer asks for, what triggers it, and the SMS it becomes.

A ZNS message can name an SMS to send instead when it cannot reach the person (no Zalo account, an
inactive user, a template eSMS refuses, or no report at all). The SMS is a message of its own: its own
item, RequestId (derived from the original's), state machine, signed CallbackUrl and events.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zns_relay.models.text import LINE_BREAKS, control_character_problem

# What eSMS's SMS endpoint accepts at most in one message (eSMS splits long ones; 612 GSM characters
# is four segments, the most a customer-care SMS may take).
MAX_SMS_CHARS = 612
MAX_BRANDNAME_CHARS = 11  # brandnames are registered sender names of at most 11 characters
BRANDNAME_PATTERN = r"^[A-Za-z0-9._ -]+$"
SMS_REQUEST_ID_SUFFIX = ":sms"
_MAX_REQUEST_ID = 50
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class FallbackTrigger(StrEnum):
    """The outcomes of a ZNS message that can send its SMS fallback."""

    NO_ZALO = "no_zalo"  # Zalo -118: no Zalo account for the number
    INACTIVE = "inactive"  # Zalo -114: inactive user, rejected, outdated Zalo
    TEMPLATE_REFUSED = "template_refused"  # eSMS refused the template or its data (789, 790, 791, 110)
    REFUSED = "refused"  # Zalo -141, -139: the person refused ZNS from the OA, or of this type
    UNKNOWN = "unknown"  # no final report came: the person may not have it
    FAILED = "failed"  # any other failure


# A message the sender did not send, as the person had refused, carries the code too (sender.recording).
ZALO_TRIGGERS = {
    -118: FallbackTrigger.NO_ZALO,
    -114: FallbackTrigger.INACTIVE,
    -141: FallbackTrigger.REFUSED,
    -139: FallbackTrigger.REFUSED,
}
TEMPLATE_REFUSAL_CODES = frozenset({"110", "789", "790", "791"})


class FallbackRequest(BaseModel):
    """The contract's optional `Fallback` (eSMS's own names for the SMS fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True)

    content: Annotated[
        str,
        Field(
            alias="Content",
            min_length=1,
            max_length=MAX_SMS_CHARS,
            description="the SMS text; {name} is replaced by TempData's name",
        ),
    ]
    brandname: Annotated[
        str | None,
        Field(
            alias="Brandname",
            default=None,
            min_length=1,
            max_length=MAX_BRANDNAME_CHARS,
            pattern=BRANDNAME_PATTERN,
            description="registered brandname (default: the deployment's DefaultBrandname)",
        ),
    ]
    is_unicode: Annotated[Literal["0", "1"] | None, Field(alias="IsUnicode", default=None)]
    on: Annotated[
        list[FallbackTrigger] | None,
        Field(
            alias="On",
            default=None,
            min_length=1,
            max_length=len(FallbackTrigger),
            description="outcomes that send it (default: the deployment's FallbackOn)",
        ),
    ]

    @field_validator("content")
    @classmethod
    def _refuse_control_characters(cls, value: str) -> str:
        problem = control_character_problem(value, allowed=LINE_BREAKS)
        if problem:
            raise ValueError(problem)
        return value

    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.content))


class PlannedFallback(BaseModel):
    """A fallback as the message item keeps it until the message ends: content already filled in and
    sealed (zns_relay.sender.sealing: it usually holds an OTP), every default applied."""

    model_config = ConfigDict(frozen=True)

    sealed_content: str
    brandname: str
    is_unicode: bool
    on: list[FallbackTrigger]

    def applies_to(self, trigger: FallbackTrigger | None) -> bool:
        """Whether the message's outcome sends the SMS; "failed" covers every failure (not UNKNOWN)."""
        if trigger is None:
            return False
        return trigger in self.on or (
            FallbackTrigger.FAILED in self.on and trigger is not FallbackTrigger.UNKNOWN
        )


def outcome_trigger(
    status: str, esms_code: str | None, zalo_codes: Iterable[object]
) -> FallbackTrigger | None:
    """What a ZNS message's final outcome is, as a fallback trigger: from its status, eSMS's code and
    the Zalo error codes of its reports (newest first); None for an outcome that reached the person or
    never tried (DELIVERED, REJECTED, EXPIRED)."""
    if status == "UNKNOWN":
        return FallbackTrigger.UNKNOWN
    if status != "FAILED":
        return None
    if esms_code in TEMPLATE_REFUSAL_CODES:
        return FallbackTrigger.TEMPLATE_REFUSED
    for code in zalo_codes:
        try:
            return ZALO_TRIGGERS.get(int(str(code)), FallbackTrigger.FAILED)
        except ValueError:
            break
    return FallbackTrigger.FAILED


def fill_content(template: str, values: dict[str, str]) -> str:
    """`{name}` replaced by TempData's value (the caller checked every name is there)."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def sms_request_id(original: str) -> str:
    """The SMS's RequestId: the original's with `:sms`, or (too long for eSMS's 50 characters) a
    prefix of it and a digest, so that every original has exactly one, always the same."""
    if len(original) + len(SMS_REQUEST_ID_SUFFIX) <= _MAX_REQUEST_ID:
        return original + SMS_REQUEST_ID_SUFFIX
    digest = hashlib.sha256(original.encode()).hexdigest()[:16]
    keep = _MAX_REQUEST_ID - len(SMS_REQUEST_ID_SUFFIX) - len(digest) - 1
    return f"{original[:keep]}.{digest}{SMS_REQUEST_ID_SUFFIX}"


def is_gsm_text(text: str) -> bool:
    """Plain ASCII letters, digits and punctuation: an SMS that needs no Unicode encoding."""
    return all(character in string.printable for character in text)
