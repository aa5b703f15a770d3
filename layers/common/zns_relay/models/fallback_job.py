"""The relay's own jobs on FallbackQueue, which the sender takes: an SMS fallback (FallbackFunction
queues it) and the resend of a DEFERRED message (the reconciler queues it when the message is due).

Our own messages, not a producer's, but read as strictly as a producer's body: whatever can write to the
queue writes them. A job that breaks these rules is never sent; it is recorded REJECTED with the reason.
"""

from __future__ import annotations

import json
import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zns_relay.models.contract import (
    MAX_REQUEST_ID_CHARS,
    REQUEST_ID_PATTERN,
    describe_validation_error,
    is_valid_request_id,
    normalise_phone,
)
from zns_relay.models.errors import ContractViolation
from zns_relay.models.fallback import (
    BRANDNAME_PATTERN,
    MAX_BRANDNAME_CHARS,
    MAX_SMS_CHARS,
    sms_request_id,
)
from zns_relay.models.status_api import MAX_CAMPAIGN_CHARS

# A sealed text (zns_relay.sender.sealing) is KMS's ciphertext in base64: the text's UTF-8 (at most 4 bytes a
# character) and KMS's header, well under 1 KB.
MAX_SEALED_CHARS = 4 * math.ceil((4 * MAX_SMS_CHARS + 1024) / 3)


class FallbackJob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    request_id: Annotated[str, Field(max_length=MAX_REQUEST_ID_CHARS, pattern=REQUEST_ID_PATTERN)]
    fallback_for: Annotated[str, Field(max_length=MAX_REQUEST_ID_CHARS, pattern=REQUEST_ID_PATTERN)]
    phone: str
    sealed_content: Annotated[str, Field(min_length=1, max_length=MAX_SEALED_CHARS)]
    brandname: Annotated[str, Field(max_length=MAX_BRANDNAME_CHARS, pattern=BRANDNAME_PATTERN)]
    is_unicode: bool
    campaign_id: Annotated[str | None, Field(max_length=MAX_CAMPAIGN_CHARS)] = None
    valid_until: Annotated[int | None, Field(ge=0)] = None  # the ZNS message's validity: not sent after
    sandbox: bool = False

    @field_validator("phone")
    @classmethod
    def _normalise_phone(cls, value: str) -> str:
        return normalise_phone(value)

    @model_validator(mode="after")
    def _named_after_its_message(self) -> FallbackJob:
        if self.request_id != sms_request_id(self.fallback_for):
            raise ValueError("request_id is not the SMS RequestId of fallback_for")
        return self


class ResendJob(BaseModel):
    """Send a DEFERRED message again: everything else is in its item (its TempData sealed)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    resend: Annotated[str, Field(max_length=MAX_REQUEST_ID_CHARS, pattern=REQUEST_ID_PATTERN)]


def parse_queued_job(body: str) -> FallbackJob | ResendJob:
    """The job a FallbackQueue body holds, or ContractViolation naming what is wrong (never a value),
    to be recorded under the SMS RequestId of the message it names, if it names one."""
    if "resend" in _document(body):
        try:
            return ResendJob.model_validate_json(body)
        except ValidationError as error:
            raise ContractViolation(f"resend job: {describe_validation_error(error)}") from None
    try:
        return FallbackJob.model_validate_json(body)
    except ValidationError as error:
        reason = f"SMS fallback job: {describe_validation_error(error)}"
        raise ContractViolation(reason, request_id=_named_sms(body)) from None


def _document(body: str) -> dict[str, object]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _named_sms(body: str) -> str | None:
    original = _document(body).get("fallback_for")
    if not isinstance(original, str) or not is_valid_request_id(original):
        return None
    return sms_request_id(original)
