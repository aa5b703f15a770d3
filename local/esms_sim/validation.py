"""eSMS's checks of a send body, in a plausible order, each refusal with its documented answer.

The simulator runs them in three steps: `text_fields` (the body's shape), then its own credential
and TPS checks, then `check_zns_send` / `check_sms_send` (the message itself). Numbers are accepted
where strings are documented (`"Sandbox": 0`): eSMS's own samples send them, so it takes both.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.esms_sim.answers import (
    duplicate_request_answer,
    invalid_phone_message,
    invalid_request_answer,
    send_answer,
)
from local.esms_sim.config import SimulatorConfig
from local.esms_sim.phones import local_phone

MAX_REQUEST_ID_CHARS = 50
SMS_TYPE_CUSTOMER_CARE = "2"
ZNS_TEXT_FIELDS = (
    "ApiKey",
    "SecretKey",
    "OAID",
    "Phone",
    "TempID",
    "SendDate",
    "campaignid",
    "Sandbox",
    "CallbackUrl",
    "RequestId",
    "SendingMode",
)
SMS_TEXT_FIELDS = (
    "ApiKey",
    "SecretKey",
    "Phone",
    "Content",
    "Brandname",
    "SmsType",
    "IsUnicode",
    "Sandbox",
    "RequestId",
    "SendDate",
    "campaignid",
    "CallbackUrl",
)
_SEND_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_FLAGS = ("", "0", "1")
# A deleted template is no longer configured for the OA: 789 at send time, the error table's "template
# not configured for this OA" (chosen; eSMS documents no code for it). Other statuses: zalo_rules.py.
DELETED = "DELETE"


class Refusal(Exception):
    """eSMS refuses the request with `answer`; `detail` says why, for the request log."""

    def __init__(self, answer: dict[str, Any], detail: str = "") -> None:
        super().__init__(detail or str(answer))
        self.answer = answer
        self.detail = detail


def refuse(code: str, detail: str = "", *, message: str | None = None) -> Refusal:
    return Refusal(send_answer(code, message=message), detail)


def duplicate_request(request_id: str) -> Refusal:
    return Refusal(duplicate_request_answer(), f"RequestId {request_id!r} was accepted within 24 hours")


def new_sms_id() -> str:
    """eSMS-like opaque id: 32 hex digits and three more digits. Not seeded: ids must never repeat."""
    return f"{uuid.uuid4().hex}{uuid.uuid4().int % 1000:03d}"


@dataclass(frozen=True)
class Send:
    """A send that passed every check: what eSMS keeps of it (`content` is the message's text)."""

    phone: str
    request_id: str
    callback_url: str
    sandbox: bool
    campaign: str
    content: str


@dataclass(frozen=True)
class ZnsSend(Send):
    oa_id: str
    temp_id: str


@dataclass(frozen=True)
class SmsSend(Send):
    """An SMS send (SmsType 2, customer care)."""


def text_fields(body: Mapping[str, Any] | None, names: tuple[str, ...]) -> dict[str, str] | None:
    """The named fields as text ("" when absent or null); None when the body or a field has the wrong type."""
    if body is None:
        return None
    fields = {}
    for name in names:
        value = body.get(name)
        if value is None:
            fields[name] = ""
        elif isinstance(value, str):
            fields[name] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            fields[name] = str(value)
        else:
            return None
    return fields


def check_zns_send(fields: Mapping[str, str], temp_data: object, config: SimulatorConfig) -> ZnsSend:
    """SendZaloMessage_V5_post's checks after the credentials; raises Refusal."""
    if not fields["OAID"] or not fields["TempID"]:
        raise refuse("791")
    pairs = _temp_data_pairs(temp_data)
    if not fields["Phone"] or pairs is None:
        raise refuse("210", "Phone or TempData missing or malformed")
    _check_common(fields, lambda detail: refuse("210", detail))
    if fields["SendingMode"] not in ("", "1", "3"):
        raise refuse("210", "SendingMode must be 1 or 3")
    phone = local_phone(fields["Phone"])
    if phone is None:
        raise refuse("108", message=invalid_phone_message(fields["Phone"]))
    template = config.templates.get(fields["TempID"])
    if template is None or template.status == DELETED:
        raise refuse("789", f"TempID {fields['TempID']} is not registered (or DELETE)")
    problem = template.problem(pairs)
    if problem is not None:
        raise refuse("790", problem)
    if fields["SendingMode"] == "3" and fields["SendDate"]:
        raise refuse("801")
    return ZnsSend(
        phone=phone,
        request_id=fields["RequestId"],
        callback_url=fields["CallbackUrl"],
        sandbox=fields["Sandbox"] == "1",
        campaign=fields["campaignid"],
        content=template.rendered(pairs),
        oa_id=fields["OAID"],
        temp_id=fields["TempID"],
    )


def check_sms_send(fields: Mapping[str, str], config: SimulatorConfig) -> SmsSend:
    """SendMultipleMessage_V4_post_json's checks after the credentials; raises Refusal.

    300 and 118 are the error table's "missing message type" and "unsupported message type": this
    endpoint simulates SmsType 2 (customer care) only.
    """
    if not fields["SmsType"]:
        raise refuse("300")
    if fields["SmsType"] != SMS_TYPE_CUSTOMER_CARE:
        raise refuse("118", f"SmsType {fields['SmsType']} is not simulated")
    phone = local_phone(fields["Phone"])
    if phone is None:
        raise refuse("108", message=invalid_phone_message(fields["Phone"]))
    if not fields["Content"]:
        raise Refusal(invalid_request_answer(), "Content is empty")
    _check_common(fields, lambda detail: Refusal(invalid_request_answer(), detail))
    if fields["IsUnicode"] not in _FLAGS:
        raise Refusal(invalid_request_answer(), "IsUnicode must be 0 or 1")
    if fields["Brandname"] not in config.brandnames:
        raise refuse("104", f"Brandname {fields['Brandname']!r} is not registered")
    if config.sms_refused_pattern and re.search(config.sms_refused_pattern, fields["Content"]):
        # Documented with an SMSID although nothing is sent: having one does not mean accepted.
        raise Refusal(send_answer("146", sms_id=new_sms_id()), "Content matches sms_refused_pattern")
    return SmsSend(
        phone=phone,
        request_id=fields["RequestId"],
        callback_url=fields["CallbackUrl"],
        sandbox=fields["Sandbox"] == "1",
        campaign=fields["campaignid"],
        content=fields["Content"],
    )


def _check_common(fields: Mapping[str, str], refusal: Callable[[str], Refusal]) -> None:
    """RequestId, SendDate and Sandbox: the same rules on both send endpoints, each its own refusal."""
    if len(fields["RequestId"]) > MAX_REQUEST_ID_CHARS:
        raise refusal(f"RequestId longer than {MAX_REQUEST_ID_CHARS}")
    if not _valid_send_date(fields["SendDate"]):
        raise refusal("SendDate is not yyyy-mm-dd hh:MM:ss")
    if fields["Sandbox"] not in _FLAGS:
        raise refusal("Sandbox must be 0 or 1")


def _temp_data_pairs(temp_data: object) -> list[tuple[str, str]] | None:
    """(name, value) of a [{key, value}] list or a {name: value} object of strings; None if malformed."""
    if isinstance(temp_data, dict):
        pairs: Iterator[tuple[object, object]] = iter(temp_data.items())
    elif isinstance(temp_data, list) and all(isinstance(item, dict) for item in temp_data):
        pairs = ((item.get("key"), item.get("value")) for item in temp_data)
    else:
        return None
    checked = []
    for key, value in pairs:
        if not isinstance(key, str) or not key or not isinstance(value, str):
            return None
        checked.append((key, value))
    return checked or None


def _valid_send_date(send_date: str) -> bool:
    if not send_date:
        return True
    if not _SEND_DATE.fullmatch(send_date):
        return False
    try:
        datetime.strptime(send_date, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True
