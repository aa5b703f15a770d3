"""eSMS's status endpoints, for the reconciler: GetCallback (a replay of the delivery callbacks of up
to 200 SMSIDs) and QueryZnsStatus (one SMSID), whose answers are turned into the callback's own
parameters, so that one parser and one code path apply every report, however it arrived; and
GetSmsSentData_V2 (the account's messages in a time range), where the SMSID of a message eSMS accepted
without our hearing its answer can be found."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from zns_relay.esms.http import SUCCESS, EsmsQueryFailed, pooled_session, query
from zns_relay.models.callback import CALLBACK_PARAMETERS
from zns_relay.models.esms import EsmsCredentials

GET_CALLBACK_PATH = "/ZaloCallback/GetCallback"
QUERY_ZNS_STATUS_PATH = "QueryZnsStatus/"
SENT_DATA_PATH = "GetSmsSentData_V2"
SEND_STATUS_PATH = "GetSendStatus"
SMS_TYPES = ("2",)  # customer-care SMS: the fallbacks
MAX_SENT_DATA_PAGE = 500  # documented
ZNS_SMS_TYPES = ("25", "24")  # normal and priority ZNS
NOT_FOUND_CODES = frozenset({"105", "854"})  # SMSID not found; no data
_NET_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")
MAX_SMS_IDS_PER_GET_CALLBACK = 200  # documented
# GetCallback's item fields whose names differ from the callback's parameters (the rest match
# case-insensitively: Telcoid, PhoneNumber, Partnerids, OAId).
_GET_CALLBACK_NAMES = {"errorinfo": "error_info", "znstempid": "tempid"}
_PARAMETER_NAMES = {name.lower(): name for name in CALLBACK_PARAMETERS}


@dataclass(frozen=True)
class SentMessage:
    """One row of GetSmsSentData_V2: a message eSMS holds, with the SMSID its send returned."""

    phone: str
    sms_id: str
    sent_at: datetime | None
    campaign: str
    sms_type: str


@dataclass(frozen=True)
class SentPage:
    messages: list[SentMessage]
    total: int


class EsmsStatusClient:
    """Thread-safe; one pooled session for both endpoints."""

    def __init__(
        self,
        base_url: str,
        status_url: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._get_callback_url = f"{status_url.rstrip('/')}{GET_CALLBACK_PATH}"
        self._query_url = f"{base_url.rstrip('/')}/{QUERY_ZNS_STATUS_PATH}"
        self._sent_data_url = f"{base_url.rstrip('/')}/{SENT_DATA_PATH}"
        self._send_status_url = f"{base_url.rstrip('/')}/{SEND_STATUS_PATH}"
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or pooled_session(4)

    def get_callbacks(
        self, sms_ids: Sequence[str], oa_id: str, credentials: EsmsCredentials
    ) -> list[dict[str, str]]:
        """The delivery reports eSMS holds for these SMSIDs, as callback parameters (one per SMSID
        it knows; SMSIDs it has nothing for are absent)."""
        if len(sms_ids) > MAX_SMS_IDS_PER_GET_CALLBACK:
            raise ValueError(f"GetCallback takes at most {MAX_SMS_IDS_PER_GET_CALLBACK} SMSIDs")
        body = {**credentials.request_fields(), "ListRefid": list(sms_ids), "OAId": oa_id}
        answer = self._post(self._get_callback_url, body)
        code = str(answer.get("Code", answer.get("CodeResult", ""))).strip()
        if code != SUCCESS:
            raise EsmsQueryFailed(f"GetCallback answered code {code or 'none'}")
        items = answer.get("Data_callback") or []
        if not isinstance(items, list):
            raise EsmsQueryFailed("GetCallback answered without a list of reports")
        return [callback_parameters(item, _GET_CALLBACK_NAMES) for item in items if isinstance(item, dict)]

    def query_zns_status(self, sms_id: str, sms_type: str, credentials: EsmsCredentials) -> dict[str, str]:
        """One message's status as callback parameters (FinalStatus 0 gives an inconclusive report)."""
        body = {**credentials.request_fields(), "SmsId": sms_id, "SmsType": sms_type}
        answer = self._post(self._query_url, body)
        code = str(answer.get("CodeResult", "")).strip()
        data = answer.get("Data")
        if code != SUCCESS or not isinstance(data, dict):
            raise EsmsQueryFailed(f"QueryZnsStatus answered code {code or 'none'}", code or None)
        parameters = callback_parameters(data, {"errorinfo": "error_info"})
        parameters.setdefault("SMSID", sms_id)
        if str(data.get("FinalStatus", "")).strip() != "1":
            parameters.pop("SendStatus", None)  # not final: whatever it says, it decides nothing yet
        return parameters

    def send_status(self, sms_id: str, credentials: EsmsCredentials) -> dict[str, str]:
        """Any message's status by SMSID (GetSendStatus: the last 7 days), as callback parameters; for
        the SMS fallbacks, which GetCallback and QueryZnsStatus (ZNS only) do not cover."""
        fields = {"RefId": sms_id, **credentials.request_fields()}
        answer = query(self._session, "GET", self._send_status_url, fields, self._timeout)
        code = str(answer.get("CodeResponse", "")).strip()
        if code != SUCCESS:
            raise EsmsQueryFailed(f"GetSendStatus answered code {code or 'none'}", code or None)
        parameters = callback_parameters(answer, {})
        parameters.setdefault("SMSID", sms_id)
        return parameters

    def sent_messages(
        self,
        sms_type: str,
        start: str,
        end: str,
        credentials: EsmsCredentials,
        *,
        page: int,
        page_size: int = MAX_SENT_DATA_PAGE,
    ) -> SentPage:
        """One page of the messages eSMS created between `start` and `end` (`yyyy-MM-dd HH:mm:ss`,
        Vietnam time); rows without a phone or an SMSID are skipped."""
        body = {
            **credentials.request_fields(),
            "SmsType": sms_type,
            "From": start,
            "To": end,
            "Page": page,
            "PageSize": page_size,
        }
        answer = self._post(self._sent_data_url, body)
        code = str(answer.get("CodeResult", "")).strip()
        rows = answer.get("SentData") or []
        if code != SUCCESS or not isinstance(rows, list):
            raise EsmsQueryFailed(f"GetSmsSentData_V2 answered code {code or 'none'}")
        messages = [_sent_message(row) for row in rows if isinstance(row, dict)]
        try:
            total = int(answer.get("CountTotal") or 0)
        except (TypeError, ValueError):
            total = len(messages)
        return SentPage([message for message in messages if message is not None], total)

    def _post(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return query(self._session, "POST", url, body, self._timeout)


def callback_parameters(item: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, str]:
    """A status answer's fields under the callback's parameter names, as the text a callback carries."""
    parameters: dict[str, str] = {}
    for key, value in item.items():
        lowered = str(key).lower()
        name = _PARAMETER_NAMES.get(renamed.get(lowered, lowered))
        if name is not None and value is not None:
            parameters[name] = value if isinstance(value, str) else json.dumps(value)
    return parameters


def _sent_message(row: Mapping[str, Any]) -> SentMessage | None:
    phone, sms_id = row.get("Phone"), row.get("ReferenceId")
    if not isinstance(phone, str) or not phone or sms_id in (None, ""):
        return None
    return SentMessage(
        phone=phone.strip(),
        sms_id=str(sms_id).strip(),
        sent_at=_net_date(row.get("SentTime")),
        campaign=str(row.get("Campaign") or ""),
        sms_type=str(row.get("SmsType") or ""),
    )


def _net_date(value: object) -> datetime | None:
    """eSMS's `/Date(1705484048995+0700)/` (milliseconds since the epoch; the offset only says how to
    show it), or None."""
    match = _NET_DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
