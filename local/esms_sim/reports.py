"""What eSMS knows about a message it accepted, and the four documented ways it tells it.

One report (SendStatus with its counters and Zalo's error) is rendered as the GET callback's query
parameters (esms_callbacks.txt: ZNS and SMS "CSKH" parameter sets, in eSMS's order), as a GetCallback
`Data_callback` item, as QueryZnsStatus's `Data` (esms_responses.json) and, with the message itself, as
a GetSmsSentData_V2 `SentData` item, with each field's documented JSON type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from local.esms_sim.config import DELIVERED, NO_REPORT, RULE_REFUSALS, SMS_FAILED, ZNS_FAILURES
from local.esms_sim.phones import telco_id

ZNS = "zns"
SMS = "sms"
TYPE_ID = {ZNS: "25", SMS: "2"}  # 25 ZNS normal, 2 SMS customer care
# The parameters of each published callback sample, in eSMS's order.
ZNS_CALLBACK_PARAMETERS = (
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
)
SMS_CALLBACK_PARAMETERS = (*ZNS_CALLBACK_PARAMETERS[:11], "switchsmsid")
WAITING, FINISHED, SENT = 2, 5, 7  # SendStatus: waiting to send, finished, sent and waiting for the report
SUCCESS, FAILURE, NOT_KNOWN_YET = 1, 0, 2  # GetSmsSentData_V2's SendResult
VIETNAM_UTC_OFFSET = "+0700"  # eSMS's time zone, as its .NET JSON dates write it


@dataclass(frozen=True)
class Report:
    """One state of a message as eSMS reports it; `error` is Zalo's (code, message) of a failure."""

    send_status: int
    success: int = 0
    failed: int = 0
    sent: int = 0
    price: float = 0.0
    error: tuple[int, str] | None = None

    @property
    def final(self) -> bool:
        return self.send_status == FINISHED


NOT_SENT_YET = Report(WAITING)


@dataclass
class AcceptedMessage:
    """A message eSMS answered 100 (not sandbox); `report` moves forward only, as the steps happen.

    `created_at` is the simulator's clock (seconds since the epoch) at acceptance; `portal_id` the
    numeric id eSMS's portal shows (GetSmsSentData_V2's SmsId); `unit_price` what one costs.
    """

    channel: str
    sms_id: str
    request_id: str
    phone: str
    callback_url: str
    outcome: str
    created_at: float
    portal_id: int
    unit_price: float
    campaign: str = ""
    content: str = ""
    zalo_msg_id: str = ""
    oa_id: str = ""
    temp_id: str = ""
    callbacks_lost: bool = False
    report: Report = field(default=NOT_SENT_YET)

    def learn(self, report: Report) -> None:
        """eSMS's record never moves back: a late "sent" report after the final one changes nothing."""
        if not self.report.final:
            self.report = report

    def final_report(self) -> Report | None:
        """The report that ends this message as its outcome says; None for no_report."""
        if self.outcome == NO_REPORT:
            return None
        if self.outcome == DELIVERED:
            return Report(FINISHED, success=1, sent=1, price=self.unit_price)
        if self.outcome == SMS_FAILED:
            return Report(FINISHED, failed=1, sent=1)  # as the SMS sample: counted as sent, nothing charged
        error = ZNS_FAILURES.get(self.outcome) or RULE_REFUSALS[self.outcome]
        return Report(FINISHED, failed=1, error=error)  # as the ZNS sample: TotalSent 0

    def callback_parameters(self, report: Report) -> dict[str, str]:
        """The callback's query parameters for this report, in eSMS's order and text forms."""
        values = {
            "SMSID": self.sms_id,
            "SendFailed": str(report.failed),
            "SendStatus": str(report.send_status),
            "SendSuccess": str(report.success),
            "TotalPrice": f"{report.price:.4f}",
            "TotalReceiver": "1",
            "TotalSent": str(report.sent),
            "RequestId": "",  # eSMS leaves it empty in every published sample
            "TypeId": TYPE_ID[self.channel],
            "telcoid": telco_id(self.phone),
            "phonenumber": self.phone,
            "partnerids": self._zalo_msg_id(report),
            "error_info": _quoted_error_info(report.error),
            "oaid": self.oa_id,
            "tempid": self.temp_id,
            "switchsmsid": "",
        }
        names = ZNS_CALLBACK_PARAMETERS if self.channel == ZNS else SMS_CALLBACK_PARAMETERS
        return {name: values[name] for name in names}

    def get_callback_item(self) -> dict[str, Any]:
        """The current report as a GetCallback `Data_callback` item: the sample's keys and types."""
        report = self.report
        return {
            "SMSID": self.sms_id,
            "SendFailed": report.failed,
            "SendSuccess": report.success,
            "SendStatus": report.send_status,
            "TotalPrice": report.price,
            "TotalReceiver": 1,
            "TotalSent": report.sent,
            "RequestId": None,
            "TypeId": int(TYPE_ID[self.channel]),
            "Telcoid": int(telco_id(self.phone)),
            "PhoneNumber": self.phone,
            "CallbackUrl": self.callback_url,
            "Partnerids": self._zalo_msg_id(report),
            "ErrorInfo": _raw_error_info(report.error),
            "OAId": self.oa_id,
            "ZnsTempId": self.temp_id,
        }

    def zns_status_data(self) -> dict[str, Any]:
        """The current report as QueryZnsStatus's `Data`: ErrorInfo "0", Zalo's code, or null until final."""
        report = self.report
        error_info = None
        if report.final:
            error_info = "0" if report.error is None else str(report.error[0])
        return {
            "ErrorInfo": error_info,
            "FinalStatus": "1" if report.final else "0",
            **self.send_status_data(),
            "ZaloMsgId": self._zalo_msg_id(report),
        }

    def send_status_data(self) -> dict[str, Any]:
        """The current report in GetSendStatus's shape (the sample's keys and JSON types)."""
        report = self.report
        return {
            "SMSID": self.sms_id,
            "SendFailed": report.failed,
            "SendStatus": report.send_status,
            "SendSuccess": report.success,
            "TotalPrice": report.price,
            "TotalReceiver": 1,
            "TotalSent": report.sent,
        }

    def sent_data_item(self) -> dict[str, Any]:
        """The message as a GetSmsSentData_V2 `SentData` item: the sample's keys and JSON types.

        SellPrice is the unit price (documented "unit price of message"; the sample's failed one has it
        too); SentTime is when eSMS accepted it, in the V2 sample's .NET form.
        """
        report = self.report
        return {
            "Campaign": self.campaign,
            "Content": self.content,
            "Phone": self.phone,
            "ReferenceId": self.sms_id,
            "SellPrice": float(self.unit_price),
            "SendResult": (SUCCESS if report.success else FAILURE) if report.final else NOT_KNOWN_YET,
            "SendStatus": report.send_status,
            "SentTime": f"/Date({round(self.created_at * 1000)}{VIETNAM_UTC_OFFSET})/",
            "SmsId": self.portal_id,
            "SmsType": int(TYPE_ID[self.channel]),
        }

    def _zalo_msg_id(self, report: Report) -> str:
        return self.zalo_msg_id if report.sent and self.channel == ZNS else ""


def _raw_error_info(error: tuple[int, str] | None) -> str:
    """Zalo's error JSON as GetCallback's sample carries it: plain JSON text."""
    if error is None:
        return ""
    code, message = error
    return json.dumps({"error": code, "message": message}, separators=(",", ":"))


def _quoted_error_info(error: tuple[int, str] | None) -> str:
    """Zalo's error JSON as the published callback sample carries it: a quoted, backslash-escaped string."""
    return json.dumps(_raw_error_info(error)) if error is not None else ""


def callback_query(parameters: dict[str, str]) -> str:
    """URL-encode like eSMS's sample: braces stay literal, everything else reserved is %-escaped."""
    return "&".join(f"{name}={quote(value, safe='{}')}" for name, value in parameters.items())
