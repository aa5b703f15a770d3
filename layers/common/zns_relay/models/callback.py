"""eSMS's delivery callback: lenient parsing of its GET parameters and the mapping to our statuses.

The callback is untrusted input (esms-api-facts.md, section 3). Parameter names are matched
case-insensitively and anything undocumented is dropped before the model sees it. Number fields
parse leniently ("1", " 5 ", "0.0000"; blank or garbage gives the default). Only a missing or odd
SMSID, or a SendStatus that is not an integer, makes the callback invalid. An integer SendStatus
outside the documented set is accepted but moves nothing: it is kept in the history only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import IntEnum
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from zns_relay.models.contract import describe_validation_error
from zns_relay.models.errors import ZnsRelayError
from zns_relay.models.state import Channel, MessageStatus

MAX_TEXT_CHARS = 500
MAX_RAW_ERROR_CHARS = 1000
MAX_ERROR_INFO_CHARS = 8000  # error_info is cut to this before decoding
SMS_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,100}")  # printable ASCII without spaces
# C0, DEL and C1 control characters (ESC among them): never stored, so that no report can reach an
# operator's terminal with an escape sequence (the CLI prints history and errors).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# The TypeIds of the channels we send, as eSMS reports them (esms-api-facts.md, section 3; every
# published sample in reference/realworld/esms_callbacks.txt): Zalo ZNS 24 (priority) and 25 (normal),
# with 26 and 27 for other Zalo message types; the SMS fallbacks are customer-care SMS, TypeId 2.
# Any other (1 advertising SMS, 23 Viber) is about no message this system sends.
CHANNEL_TYPE_IDS = {Channel.ZNS: frozenset({24, 25, 26, 27}), Channel.SMS: frozenset({2})}

# The documented parameters, in eSMS's spelling and in the order eSMS sends them.
CALLBACK_PARAMETERS = (
    "SMSID",
    "SendFailed",
    "SendStatus",
    "SendSuccess",
    "TotalPrice",
    "TotalReceiver",
    "TotalSent",
    "RequestId",
    "TypeId",
    "telcoid",
    "phonenumber",
    "partnerids",
    "error_info",
    "oaid",
    "tempid",
    "switchsmsid",  # SMS reports only (TypeId 2)
)
_PARAMETER_NAMES = {name.lower(): name for name in CALLBACK_PARAMETERS}
_CODE_KEYS = ("error", "code", "error_code")
_MESSAGE_KEYS = ("message", "msg")
_MAX_DECODE_STEPS = 5
# Zalo errors eSMS reports as a bare number (QueryZnsStatus's ErrorInfo), with what eSMS says they mean.
BARE_ZALO_ERRORS = {1001: "the user was not online in time"}
_NUMBER = re.compile(r"([+-]?\d{1,18})(?:\.(\d*))?", re.ASCII)
_DECODER = json.JSONDecoder()


class InvalidCallback(ZnsRelayError, ValueError):
    """A callback that cannot be eSMS's: no usable SMSID, or a SendStatus that is not a number."""


class SendStatus(IntEnum):
    """eSMS's documented SendStatus values."""

    PENDING_APPROVAL = 1
    WAITING = 2
    REJECTED = 4
    FINISHED = 5  # success or failure is told by SendSuccess / SendFailed
    SENT = 7  # sent, waiting for the delivery report


def _lenient_int(value: object) -> int | None:
    """An integer from a number or its text ("5", " 5 ", "0.0000"); None when blank, fractional or garbage."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    match = _NUMBER.fullmatch(value.strip())
    if match is None or (match.group(2) and match.group(2).strip("0")):
        return None
    return int(match.group(1))


def _count(value: object) -> int:
    return _lenient_int(value) or 0


def _text(value: object, limit: int = MAX_TEXT_CHARS) -> str | None:
    """Stripped, storable (no lone surrogates, each run of control characters one space) and bounded
    text; None when blank or not text."""
    if not isinstance(value, str):
        return None
    readable = _CONTROL_CHARACTERS.sub(" ", value[: limit * 4])  # a first cut bounds the work
    cleaned = readable.strip().encode("utf-8", "replace").decode("utf-8")[:limit].rstrip()
    return cleaned or None


def _send_status(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    status = _lenient_int(value)
    if status is None:
        raise ValueError("must be an integer (documented: 1, 2, 4, 5, 7)")
    return status


class ZaloError(BaseModel):
    """Zalo's error as carried in `error_info`; code and message are empty when it did not decode."""

    # Built at the first report read (defer_build): the sender imports this module but never reads one.
    model_config = ConfigDict(frozen=True, defer_build=True)

    code: int | None
    message: str
    raw: str

    @property
    def description(self) -> str | None:
        """`Zalo -114: User is inactive, ...`, or None when nothing decoded."""
        if self.code is None and not self.message:
            return None
        label = "Zalo" if self.code is None else f"Zalo {self.code}"
        return f"{label}: {self.message}" if self.message else label


def _decode_json_object(text: str) -> dict[Any, Any] | None:
    """Peel JSON string quoting and URL encoding until a JSON object shows; ignore text after it."""
    for _ in range(_MAX_DECODE_STEPS):
        text = text.strip()
        try:
            document, _end = _DECODER.raw_decode(text)
        except (ValueError, RecursionError):
            decoded = unquote_plus(text)
            if decoded == text:
                return None
            text = decoded
            continue
        if isinstance(document, dict):
            return document
        if not isinstance(document, str):
            return None
        text = document
    return None


def parse_error_info(raw: str | None) -> ZaloError | None:
    """Decode `error_info` in any of the encodings eSMS uses; None when empty, never raises."""
    text = _text(raw, MAX_ERROR_INFO_CHARS)
    if text is None:
        return None
    bare = _lenient_int(text)
    if bare is not None:
        return ZaloError(code=bare, message=BARE_ZALO_ERRORS.get(bare, ""), raw=text)
    document = _decode_json_object(text) or {}
    fields = {str(key).lower(): value for key, value in document.items()}
    codes = (_lenient_int(fields.get(key)) for key in _CODE_KEYS)
    messages = (_text(fields.get(key)) for key in _MESSAGE_KEYS)
    return ZaloError(
        code=next((code for code in codes if code is not None), None),
        message=next((message for message in messages if message), ""),
        raw=text[:MAX_RAW_ERROR_CHARS],
    )


def _error_info(value: object) -> object:
    return parse_error_info(value) if isinstance(value, str) else value


Count = Annotated[int, BeforeValidator(_count)]
OptionalInt = Annotated[int | None, BeforeValidator(_lenient_int)]
OptionalText = Annotated[str | None, BeforeValidator(_text)]


class DeliveryReport(BaseModel):
    """One delivery callback; the aliases are eSMS's parameter names."""

    # Built at the first report read (defer_build): the sender imports this module but never reads one.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    sms_id: Annotated[str, Field(alias="SMSID")]
    send_status: Annotated[int | None, BeforeValidator(_send_status), Field(alias="SendStatus")] = None
    send_success: Annotated[Count, Field(alias="SendSuccess")] = 0
    send_failed: Annotated[Count, Field(alias="SendFailed")] = 0
    total_price: Annotated[OptionalText, Field(alias="TotalPrice")] = None
    total_receiver: Annotated[Count, Field(alias="TotalReceiver")] = 0
    total_sent: Annotated[Count, Field(alias="TotalSent")] = 0
    request_id: Annotated[OptionalText, Field(alias="RequestId")] = None
    type_id: Annotated[OptionalInt, Field(alias="TypeId")] = None
    telco_id: Annotated[OptionalInt, Field(alias="telcoid")] = None
    phone: Annotated[OptionalText, Field(alias="phonenumber")] = None
    partner_ids: Annotated[OptionalText, Field(alias="partnerids")] = None
    error: Annotated[
        ZaloError | None,
        BeforeValidator(_error_info),
        Field(alias="error_info"),
    ] = None
    oa_id: Annotated[OptionalText, Field(alias="oaid")] = None
    temp_id: Annotated[OptionalText, Field(alias="tempid")] = None
    switch_sms_id: Annotated[OptionalText, Field(alias="switchsmsid")] = None

    @field_validator("sms_id")
    @classmethod
    def _check_sms_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("is blank")
        if not SMS_ID_PATTERN.fullmatch(value):
            raise ValueError("must be 1 to 100 printable ASCII characters without spaces")
        return value


def documented_parameters(params: Mapping[str, str]) -> dict[str, str]:
    """Only eSMS's documented parameters, in eSMS's spelling (the first of two spellings wins).

    This is what may be stored: an extra parameter (a token, a secret) can never get past it.
    """
    documented: dict[str, str] = {}
    for key, value in params.items():
        name = _PARAMETER_NAMES.get(key.strip().lower())
        if name is not None:
            documented.setdefault(name, value[:MAX_ERROR_INFO_CHARS])
    return documented


def parse_delivery_report(params: Mapping[str, str]) -> DeliveryReport:
    """Build the report from the callback's decoded query parameters; raise InvalidCallback only."""
    try:
        return DeliveryReport.model_validate(documented_parameters(params))
    except ValidationError as error:
        raise InvalidCallback(f"invalid eSMS callback: {describe_validation_error(error)}") from None


def report_channels(report: DeliveryReport) -> frozenset[Channel]:
    """The channels whose messages the report can be about, by its TypeId: either when it names none
    (eSMS's QueryZnsStatus and GetSendStatus answers carry none), neither for a TypeId we never send."""
    if report.type_id is None:
        return frozenset(Channel)
    return frozenset(channel for channel, type_ids in CHANNEL_TYPE_IDS.items() if report.type_id in type_ids)


def target_status(report: DeliveryReport) -> MessageStatus | None:
    """The status the report moves its message to; None when it is not conclusive."""
    match report.send_status:
        case SendStatus.SENT:
            return MessageStatus.SENT
        case SendStatus.FINISHED if report.send_success >= 1:
            return MessageStatus.DELIVERED
        case SendStatus.FINISHED if report.send_failed >= 1:
            return MessageStatus.FAILED
        case SendStatus.REJECTED:
            return MessageStatus.FAILED
    return None


def failure_reason(report: DeliveryReport) -> str | None:
    """Why the message failed, Zalo's own words first; None unless the report means FAILED."""
    if target_status(report) is not MessageStatus.FAILED:
        return None
    if report.error is not None and report.error.description:
        return report.error.description
    if report.send_status == SendStatus.REJECTED:
        return "eSMS rejected the message (SendStatus 4)"
    return f"delivery failed (SendStatus 5, SendFailed {report.send_failed})"


# What a report repeats of the message it is about, which the item holds already: its SMSID (the write's
# condition matches it, or the item learns it), and the RequestId, phone, OA and template we sent; and
# the counts of receivers and of messages sent, which for one message to one phone say no more than
# SendStatus, SendSuccess and SendFailed do.
HELD_BY_THE_ITEM = frozenset(
    {"sms_id", "request_id", "phone", "oa_id", "temp_id", "total_receiver", "total_sent"}
)
_COUNTS = frozenset({"send_success", "send_failed"})  # absent: 0


def history_fields(report: DeliveryReport) -> dict[str, str]:
    """The documented fields worth keeping in the history, as non-empty bounded strings: what the report
    says beyond what the item holds (an entry then stays small, and the item under 1 KB: one write unit
    a write)."""
    values: dict[str, object] = report.model_dump(exclude={"error", *HELD_BY_THE_ITEM})
    if report.error is not None:
        values["error_code"] = report.error.code
        values["error_message"] = report.error.message
        if report.error.description is None:
            values["error_info"] = report.error.raw
    return {
        key: str(value)[:MAX_TEXT_CHARS]
        for key, value in values.items()
        if value is not None and value != "" and not (key in _COUNTS and value == 0)
    }
