"""eSMS's side of the conversation: the send request, its result and the result-code policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, SecretStr

from zns_relay.models.contract import TemplateParam


class ResultClass(StrEnum):
    """What a send result means for the message (DESIGN.md, failure policy)."""

    ACCEPTED = "accepted"  # 100: eSMS took it; the outcome arrives on the callback
    DUPLICATE = "duplicate"  # 124: eSMS already holds this RequestId (sent within 24 h)
    PERMANENT = "permanent"  # the message itself is wrong: FAILED at once, never retried
    ACCOUNT = "account"  # the account needs an operator: retried with backoff, alarmed
    TRANSIENT = "transient"  # network, 5xx, throttling, unknown code: retried with backoff


ACCEPTED_CODE = "100"
DUPLICATE_CODE = "124"
CREDENTIALS_CODE = "101"
MESSAGE_PERMANENT_CODES = frozenset(
    {"99", "104", "108", "110", "118", "146", "201", "204", "210", "789", "790", "791", "799", "801", "802"}
)
ACCOUNT_CODES = frozenset({"101", "102", "103", "140", "143", "177"})
TRANSIENT_CODES = frozenset({"160"})
# 105 (SMSID not found) and 120 (phone list over the limit) belong to other endpoints; should
# the send endpoint ever answer them, like any other unlisted code they count as transient.

CODE_MEANINGS = {
    "99": "phone number blocked",
    "100": "request accepted",
    "101": "wrong ApiKey or SecretKey",
    "102": "no price list for the account",
    "103": "insufficient balance",
    "104": "brandname or call code does not exist",
    "105": "SMSID not found",
    "108": "phone number in wrong format",
    "110": "incorrect request data",
    "118": "unsupported message type",
    "120": "phone list over the limit",
    "124": "duplicate RequestId",
    "140": "caller IP not whitelisted",
    "143": "account not activated or locked",
    "146": "wrong customer-care template",
    "160": "TPS limit exceeded",
    "177": "carrier not registered",
    "201": "content contains a blocked keyword",
    "204": "OAID does not exist",
    "210": "payload does not match the required format",
    "789": "template not configured for this OA",
    "790": "wrong ZNS template",
    "791": "missing OA id or template id",
    "799": "OAID inactive, wrong, or not added to the account",
    "801": "exceed-quota mode cannot be scheduled",
    "802": "OA not allowed to use exceed-quota mode",
}


def classify_code(code: str) -> ResultClass:
    """Map an eSMS CodeResult to the failure policy; an unknown code is transient."""
    if code == ACCEPTED_CODE:
        return ResultClass.ACCEPTED
    if code == DUPLICATE_CODE:
        return ResultClass.DUPLICATE
    if code in MESSAGE_PERMANENT_CODES:
        return ResultClass.PERMANENT
    if code in ACCOUNT_CODES:
        return ResultClass.ACCOUNT
    if code in TRANSIENT_CODES:
        return ResultClass.TRANSIENT
    return ResultClass.TRANSIENT  # unknown: logged by the caller, retried until it says otherwise


def is_known_code(code: str) -> bool:
    return code in CODE_MEANINGS


class EsmsCredentials(BaseModel):
    """The eSMS account keys (the eSMS secret's ApiKey and SecretKey); never printable."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    secret_key: SecretStr

    def request_fields(self) -> dict[str, str]:
        """ApiKey and SecretKey, as every eSMS request carries them."""
        return {"ApiKey": self.api_key.get_secret_value(), "SecretKey": self.secret_key.get_secret_value()}


class RotatingKeys(BaseModel):
    """A secret's current key and, while it is being rotated, the previous one (both still accepted)."""

    model_config = ConfigDict(frozen=True)

    current: SecretStr
    previous: SecretStr | None = None

    def in_use(self) -> list[bytes]:
        """The current key, then the previous one if there is one."""
        return [key.get_secret_value().encode() for key in (self.current, self.previous) if key is not None]


class CallbackKeys(RotatingKeys):
    """The keys that sign CallbackUrls (the callback secret's CallbackKey, PreviousCallbackKey)."""


class FingerprintKeys(RotatingKeys):
    """The keys of the duplicate fingerprint (the fingerprint secret's FingerprintKey,
    PreviousFingerprintKey)."""


@dataclass(frozen=True)
class ZaloSendRequest:
    """Everything one SendZaloMessage_V5_post call needs except the credentials."""

    phone: str
    oa_id: str
    temp_id: str
    temp_data: tuple[TemplateParam, ...]
    request_id: str
    sandbox: bool
    send_date: str | None = None
    campaign_id: str | None = None
    sending_mode: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class SmsSendRequest:
    """Everything one SendMultipleMessage_V4_post_json call needs except the credentials: a
    customer-care SMS (SmsType 2), the fallback of a ZNS message."""

    phone: str
    content: str
    brandname: str
    is_unicode: bool
    request_id: str
    sandbox: bool
    fallback_for: str
    campaign_id: str | None = None
    callback_url: str | None = None


SendRequest = ZaloSendRequest | SmsSendRequest


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send: a classified eSMS answer, or a transport failure (code None).

    `possibly_accepted` marks a failure after the request may have reached eSMS (a read timeout, a
    connection lost mid-answer): eSMS may hold the message although we never heard its answer.
    """

    result_class: ResultClass
    code: str | None
    sms_id: str | None = None
    message: str = ""
    latency_ms: float = 0.0
    possibly_accepted: bool = False

    @property
    def description(self) -> str:
        if self.code is None:
            return self.message
        meaning = CODE_MEANINGS.get(self.code, "unknown eSMS code")
        detail = f"eSMS {self.code}: {meaning}"
        if self.message and self.message.lower() != meaning.lower():
            detail += f" ({self.message})"
        return detail
