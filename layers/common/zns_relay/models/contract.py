"""The producer contract: what a service puts on SendQueue (DESIGN.md, fixed field names)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from zns_relay.models.errors import ContractViolation
from zns_relay.models.fallback import BRANDNAME_PATTERN, SMS_REQUEST_ID_SUFFIX, FallbackRequest
from zns_relay.models.text import LINE_BREAKS, control_character_problem
from zns_relay.models.zalo_rules import ATTEMPT_SUFFIX

# Up to 50 of these characters, at least one a letter or digit: "." and ".." are path segments, which
# the CallbackUrl <base>/<RequestId>/<signature> would lose to URL normalisation (and their reports).
# No lookahead, so that every regex engine (pydantic's own, JSON Schema's) reads it alike; the length
# is checked apart.
REQUEST_ID_PATTERN = r"^[._:-]*[A-Za-z0-9][A-Za-z0-9._:-]*$"
MAX_REQUEST_ID_CHARS = 50
TEMP_ID_PATTERN = r"^[0-9]{1,20}$"
OA_ID_PATTERN = r"^\S+$"
SEND_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
SYSTEM_OWNED_FIELDS = ("ApiKey", "SecretKey", "CallbackUrl")
# eSMS reads SendDate in Vietnam's time (Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving).
ESMS_TIMEZONE = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
# Vietnamese mobile numbers since the 2018 renumbering: 03x, 05x, 07x, 08x, 09x plus 8 digits.
# Digits are ASCII digits: `\d` would also take Arabic-Indic and other scripts' digits.
_LOCAL_MOBILE = re.compile(r"^0[35789][0-9]{8}$")
_SEND_DATE_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
MAX_BODY_BYTES = 64 * 1024  # a ZNS message is a few hundred bytes; anything near this is not one
MAX_TEMPLATE_PARAMS = 40
MAX_PARAM_KEY_CHARS = 100
MAX_PARAM_VALUE_CHARS = 500  # ZNS templates cap their parameters far lower (30 to 100 characters)
SCHEDULE_GRACE = timedelta(minutes=5)  # a SendDate this little in the past is clock skew or queue time
MAX_SCHEDULE_AHEAD = timedelta(days=365)


def normalise_phone(raw: str) -> str:
    """Return the `0xxxxxxxxx` form of a Vietnamese mobile number, or raise ValueError."""
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.startswith("+84"):
        local = "0" + compact[3:]
    elif compact.startswith("0084"):
        local = "0" + compact[4:]
    elif compact.startswith("84") and len(compact) == 11:
        local = "0" + compact[2:]
    else:
        local = compact
    if not _LOCAL_MOBILE.fullmatch(local):
        raise ValueError(
            "not a Vietnamese mobile number (expected 0xxxxxxxxx, 84xxxxxxxxx or +84 xx xxx xxxx)"
        )
    return local


class TemplateParam(BaseModel):
    """One ZNS template parameter, in the key/value form eSMS's V5 request uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(min_length=1, max_length=MAX_PARAM_KEY_CHARS)]
    value: Annotated[str, Field(max_length=MAX_PARAM_VALUE_CHARS)]


TempDataInput = (
    dict[
        Annotated[str, StringConstraints(max_length=MAX_PARAM_KEY_CHARS)],
        Annotated[str, StringConstraints(max_length=MAX_PARAM_VALUE_CHARS)],
    ]
    | list[TemplateParam]
)


class ZnsMessage(BaseModel):
    """One message as a producer sends it; field aliases are eSMS's own names."""

    # Only eSMS's documented names (the aliases) are read: a snake_case `phone` or `temp_id` is an
    # unknown field, refused like any other, as the published schema says.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="ZnsMessage",
        field_title_generator=lambda name, field: field.alias or name,
        json_schema_extra={
            "description": "The SQS message body zns-relay accepts (eSMS field names, without credentials "
            "and CallbackUrl). It may also arrive inside an SNS notification's Message or an "
            "EventBridge event's detail.",
        },
    )

    phone: Annotated[str, Field(alias="Phone", description="Vietnamese mobile, any common form")]
    temp_id: Annotated[str, Field(alias="TempID", pattern=TEMP_ID_PATTERN, description="ZNS template id")]
    temp_data: Annotated[
        TempDataInput,
        Field(
            alias="TempData",
            description="template parameters: an object of non-empty strings or [{key, value}]",
        ),
    ]
    oa_id: Annotated[
        str | None, Field(alias="OAID", default=None, min_length=1, max_length=64, pattern=OA_ID_PATTERN)
    ]
    request_id: Annotated[
        str | None,
        Field(
            alias="RequestId",
            default=None,
            max_length=MAX_REQUEST_ID_CHARS,
            pattern=REQUEST_ID_PATTERN,
            description="idempotency key",
        ),
    ]
    send_date: Annotated[
        str | None, Field(alias="SendDate", default=None, description="schedule, yyyy-mm-dd hh:MM:ss")
    ]
    campaign_id: Annotated[str | None, Field(alias="campaignid", default=None, max_length=254)]
    sandbox: Annotated[Literal["0", "1"] | None, Field(alias="Sandbox", default=None)]
    sending_mode: Annotated[Literal["1", "3"] | None, Field(alias="SendingMode", default=None)]
    valid_until: Annotated[
        AwareDatetime | None,
        Field(
            alias="ValidUntil",
            default=None,
            description="ISO 8601 with an offset (2026-11-27T18:00:00+07:00): never sent after this; "
            "a message eSMS has not accepted by then ends EXPIRED",
        ),
    ]
    fallback: Annotated[
        FallbackRequest | None,
        Field(
            alias="Fallback",
            default=None,
            description="an SMS to send (once) if the ZNS message cannot reach the person",
        ),
    ]

    @model_validator(mode="before")
    @classmethod
    def _refuse_system_owned_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            owned = [name for name in SYSTEM_OWNED_FIELDS if name in data]
            if owned:
                raise ValueError(f"{', '.join(owned)} must not be sent: zns-relay supplies them")
        return data

    @field_validator("request_id")
    @classmethod
    def _keep_the_relays_suffixes(cls, value: str | None) -> str | None:
        if value is not None and value.endswith(SMS_REQUEST_ID_SUFFIX):
            raise ValueError(f"a RequestId ending in {SMS_REQUEST_ID_SUFFIX!r} is reserved for SMS fallbacks")
        if value is not None and ATTEMPT_SUFFIX.search(value):
            raise ValueError("a RequestId ending in '.z' and digits is kept for deferred attempts")
        return value

    @field_validator("request_id", mode="before")
    @classmethod
    def _name_a_letter_or_digit(cls, value: object) -> object:
        # Said plainly, before the pattern's own message would.
        if isinstance(value, str) and value and not re.search("[A-Za-z0-9]", value):
            raise ValueError("must hold at least one letter or digit")
        return value

    @field_validator("oa_id", "campaign_id")
    @classmethod
    def _refuse_control_characters(cls, value: str | None) -> str | None:
        problem = value and control_character_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("phone")
    @classmethod
    def _normalise_phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("temp_data")
    @classmethod
    def _check_temp_data(cls, value: TempDataInput) -> TempDataInput:
        keys = list(value) if isinstance(value, dict) else [param.key for param in value]
        if not keys:
            raise ValueError("must hold at least one template parameter")
        if len(keys) > MAX_TEMPLATE_PARAMS:
            raise ValueError(f"must hold at most {MAX_TEMPLATE_PARAMS} template parameters")
        if any(not key.strip() for key in keys):
            raise ValueError("parameter names must not be blank")
        if len(set(keys)) != len(keys):
            raise ValueError("parameter names must be unique")
        if any(control_character_problem(key) for key in keys):
            raise ValueError("parameter names must not contain control characters")
        values = value.values() if isinstance(value, dict) else [param.value for param in value]
        for key, text in zip(keys, values, strict=True):
            problem = control_character_problem(text, allowed=LINE_BREAKS)
            if problem:
                raise ValueError(f"{_short(key)}: {problem}")
        empty = [key for key, text in zip(keys, values, strict=True) if not text.strip()]
        if empty:
            raise ValueError(
                f"{', '.join(_short(key) for key in empty)}: empty value; leave out an optional parameter"
                " instead (eSMS refuses an empty value unless the template accepts null)"
            )
        return value

    @field_validator("send_date")
    @classmethod
    def _check_send_date(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _SEND_DATE_SHAPE.fullmatch(value):
            raise ValueError("must be formatted yyyy-mm-dd hh:MM:ss")
        try:
            datetime.strptime(value, SEND_DATE_FORMAT)
        except ValueError:
            raise ValueError("is not a real calendar date and time") from None
        return value

    @field_validator("valid_until", mode="before")
    @classmethod
    def _check_valid_until(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date and time with an offset, as a string")
        return value

    @model_validator(mode="after")
    def _check_mode_and_schedule(self) -> ZnsMessage:
        if self.sending_mode == "3" and self.send_date:
            raise ValueError("SendingMode 3 (exceed quota) cannot be scheduled with SendDate")
        if self.fallback is not None:
            missing = sorted(self.fallback.placeholders() - set(self.template_values()))
            if missing:
                raise ValueError(f"Fallback.Content names {', '.join(missing)}, which TempData lacks")
        scheduled = self.scheduled_at()
        if scheduled is not None and self.valid_until is not None and scheduled > self.valid_until:
            raise ValueError(
                "SendDate is later than ValidUntil: the message could never be sent in time "
                "(SendDate is Vietnam time, UTC+7)"
            )
        return self

    def scheduled_at(self) -> datetime | None:
        """SendDate as an aware time (eSMS reads it in Vietnam's time)."""
        if not self.send_date:
            return None
        return datetime.strptime(self.send_date, SEND_DATE_FORMAT).replace(tzinfo=ESMS_TIMEZONE)

    def template_values(self) -> dict[str, str]:
        """TempData as names and values, whatever form the producer used."""
        return {param.key: param.value for param in self.template_params()}

    def template_params(self) -> tuple[TemplateParam, ...]:
        """TempData in eSMS's key/value list form, whatever form the producer used."""
        if isinstance(self.temp_data, dict):
            return tuple(TemplateParam(key=key, value=value) for key, value in self.temp_data.items())
        return tuple(self.temp_data)


def schedule_problem(message: ZnsMessage, published_at: datetime) -> str | None:
    """What is wrong with the message's SendDate for one published at `published_at`, if anything: in
    the past (most often a UTC time where eSMS reads Vietnam time), or more than a year ahead."""
    scheduled = message.scheduled_at()
    if scheduled is None:
        return None
    if scheduled < published_at - SCHEDULE_GRACE:
        return "SendDate: is in the past (it is read in Vietnam time, UTC+7)"
    if scheduled > published_at + MAX_SCHEDULE_AHEAD:
        return "SendDate: is more than a year ahead (a typo?)"
    return None


def unwrap_envelope(document: Any) -> Any:
    """Return the message inside an SNS notification or EventBridge event, or the document itself."""
    if not isinstance(document, dict):
        return document
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        return _loads(document["Message"], "the SNS notification's Message")
    if "detail-type" in document and "detail" in document:
        detail = document["detail"]
        return _loads(detail, "the EventBridge event's detail") if isinstance(detail, str) else detail
    return document


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ContractViolation(
            f"{what} is not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise ContractViolation(f"{what} nests too deeply to be a ZNS message") from None


# What each of the models' patterns asks for, said to a person: pydantic's own message quotes the regex.
PATTERN_MEANINGS = {
    TEMP_ID_PATTERN: "must be a template id: digits only, 1 to 20 of them",
    OA_ID_PATTERN: "must be an OA id, without spaces",
    REQUEST_ID_PATTERN: f"must be up to {MAX_REQUEST_ID_CHARS} of A-Z a-z 0-9 . _ : -,"
    " a letter or digit among them",
    BRANDNAME_PATTERN: "must be a registered brandname: letters, digits, spaces and . _ - only",
}


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each broken field with the contract's own field name (a producer's own key
    names shortened: the line is stored and logged), and what the field expects."""
    parts = []
    for issue in error.errors(include_url=False, include_input=False):
        location = ".".join(_short(str(part)) for part in issue["loc"] if not str(part).startswith("dict["))
        message = _expectation(issue)
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(dict.fromkeys(parts))


def _expectation(issue: ErrorDetails) -> str:
    """pydantic's message for the issue, but a pattern's said in words (never the regex itself)."""
    if issue["type"] == "string_pattern_mismatch":
        pattern = str((issue.get("ctx") or {}).get("pattern", ""))
        return PATTERN_MEANINGS.get(pattern, "is not in the expected form")
    return issue["msg"].removeprefix("Value error, ")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


REJECTION_KEY_PREFIX = "rejected:"


def rejection_key(given: str) -> str:
    """Where a message whose RequestId breaks the contract (too long, a space, ...) is recorded: a
    valid RequestId derived from the one given, so that a look-up by the given one finds it."""
    digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).hexdigest()
    return REJECTION_KEY_PREFIX + digest[: 50 - len(REJECTION_KEY_PREFIX)]


def is_valid_request_id(candidate: str) -> bool:
    """A RequestId an item can be kept under (a producer's, or an SMS fallback's)."""
    return len(candidate) <= MAX_REQUEST_ID_CHARS and re.fullmatch(REQUEST_ID_PATTERN, candidate) is not None


def _usable_request_id(document: dict[str, Any]) -> str | None:
    """The key a rejection is recorded under: the body's RequestId when valid, a key derived from it
    when it is a string that breaks the rule, else None (the SQS messageId then)."""
    candidate = document.get("RequestId")
    if not isinstance(candidate, str) or not candidate:
        return None
    producers = is_valid_request_id(candidate) and not candidate.endswith(SMS_REQUEST_ID_SUFFIX)
    return candidate if producers else rejection_key(candidate)


def oversize_problem(body: str) -> str | None:
    """Why a body is refused before it is even read, if it is: its size."""
    if len(body.encode("utf-8", "replace")) > MAX_BODY_BYTES:
        return f"body is larger than {MAX_BODY_BYTES // 1024} KB: not a ZNS message"
    return None


def parse_message_body(body: str) -> ZnsMessage:
    """Parse an SQS body into the contract model; raise ContractViolation with a specific reason.

    A violation keeps the body's RequestId when that field itself is valid, so the rejection is
    recorded under the id the producer will look for; a RequestId that breaks the rule gives the key
    `rejection_key` derives from it, which the status API and `zns-relay status` look up.
    """
    too_large = oversize_problem(body)
    if too_large:
        raise ContractViolation(too_large)
    document = unwrap_envelope(_loads(body, "body"))
    if not isinstance(document, dict):
        raise ContractViolation(f"body must be a JSON object, got {type(document).__name__}")
    try:
        return ZnsMessage.model_validate(document)
    except ValidationError as error:
        raise ContractViolation(
            describe_validation_error(error), request_id=_usable_request_id(document)
        ) from None


def message_json_schema() -> dict[str, Any]:
    """The JSON Schema of the producer contract, as committed in schema/zns-message.schema.json."""
    schema = ZnsMessage.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
