"""eSMS's answer envelopes, one family per endpoint, as esms_responses.json documents them.

Send endpoints answer `{"CodeResult", "CountRegenerate", "SMSID" | "ErrorMessage"}` (146 carries both,
124 carries `SendStatus` and no SMSID) or `{"error": "Invalid request"}`; QueryZnsStatus, ZNS/GetQuota,
GetTemplate and GetSmsSentData_V2 answer `{"CodeResult", ...}`, refusing with `{"CodeResult",
"ErrorMessage"}`; GetBalance_json `{"Balance", "CodeResponse", ...}`; GetCallback `{"Code": <number>,
"Message", "Data_callback"}`; GetZnsTemplateInfo `{"Data", "Error": <number>, "Message"}`. Where eSMS
documents no error answer for an endpoint, the refusal below keeps that endpoint's own envelope (said at
each builder).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.esms_sim.templates import REQUIRE_TYPES, ZnsTemplate

Answer = dict[str, Any]
ERROR_MESSAGES = {
    "101": "Authorize Failed",
    "104": "Brand name code is not exist",
    "118": "Message type is not supported",
    "146": "Sai template Brandname CSKH",
    "160": "Exceed TPS",
    "210": "Payload does not match the required format",
    "300": "Missing message type",
    "789": "TemplateId is not config",
    "790": "Template data does not match the ZNS template",
    "791": "OAID or TempID is missing",
    "801": "SendingMode 3 cannot be scheduled",
    "851": "Missing SMSID",
    "854": "No data found",
}
ACCOUNT_USER_ID = 9999  # GetBalance_json's UserID in eSMS's sample
TEMPLATE_TIMEOUT_MS = 7_200_000  # GetZnsTemplateInfo's Timeout in eSMS's sample
_TEMPLATE_REASONS = {
    "ENABLE": "Template đã được duyệt",
    "PENDING_REVIEW": "Template đang được kiểm duyệt",
    "DELETE": "Template đã bị xóa",
    "REJECT": "Template bị từ chối",
    "DISABLE": "Template bị vô hiệu hóa",
}


def duplicate_request_answer() -> Answer:
    """124 as the SMS page documents it (no SMSID), for every send endpoint."""
    return {"CodeResult": "124", "CountRegenerate": 0, "ErrorMessage": "Request exist 1", "SendStatus": "5"}


def invalid_request_answer() -> Answer:
    """The SMS page's "99" tab: a body eSMS cannot read, answered without any result code."""
    return {"error": "Invalid request"}


def send_answer(code: str, *, sms_id: str | None = None, message: str | None = None) -> Answer:
    """A send's answer: 100 with its SMSID, a refusal with its ErrorMessage (146 with an SMSID too)."""
    answer: Answer = {"CodeResult": code, "CountRegenerate": 0}
    if code != "100":
        answer["ErrorMessage"] = message or ERROR_MESSAGES[code]
    if sms_id is not None:
        answer["SMSID"] = sms_id
    return answer


def invalid_phone_message(phone: str) -> str:
    """108's text, as eSMS's ZNS bulk answer words it."""
    return f"The phone number {phone} is not valid."


def status_refusal(code: str, message: str | None = None) -> Answer:
    """QueryZnsStatus, ZNS/GetQuota, ZNS/GetQuality, GetTemplate and GetSmsSentData_V2 refusals: the
    documented 101 shape."""
    return {"CodeResult": code, "ErrorMessage": message or ERROR_MESSAGES[code]}


def sent_data_answer(count_total: int, items: list[dict[str, Any]]) -> Answer:
    """GetSmsSentData_V2's 100, with the sample's types (its sample is not JSON: a comma and a quote are
    missing; CountTotal is a number there although the field table says string)."""
    return {"CodeResult": "100", "CountTotal": count_total, "SentData": items}


def balance_answer(balance: float) -> Answer:
    return {"Balance": _number(balance), "CodeResponse": "100", "UserID": ACCOUNT_USER_ID}


def balance_refusal() -> Answer:
    return {"Balance": 0, "CodeResponse": "101", "ErrorMessage": ERROR_MESSAGES["101"]}


def quota_answer(daily: int, remaining: int) -> Answer:
    """ZNS/GetQuota's documented fields; the promotion quotas are not simulated and stay 0."""
    return {
        "CodeResult": "100",
        "ErrorMessage": "success",
        "DailyQuota": daily,
        "DailyQuotaPromotion": 0,
        "EstimatedNextMonthPromotionQuota": 0,
        "MonthlyPromotionQuota": 0,
        "RemainingMonthlyPromotionQuota": 0,
        "RemainingQuota": remaining,
        "RemainingQuotaPromotion": 0,
    }


def quality_answer(level: str) -> Answer:
    """ZNS/GetQuality's documented fields, one level for both windows (devesms/gitbook_esms_for_develop_v2:
    esms-api/ham-truy-xuat-va-dang-ky/ham-kiem-tra-chat-luong-oa.md)."""
    return {"CodeResult": "100", "ErrorMessage": "success", "Oa7dayQuality": level, "OaCurrentQuality": level}


def get_callback_answer(items: list[dict[str, Any]]) -> Answer:
    return {"Code": 100, "Message": "Success", "Data_callback": items}


def get_callback_refusal(code: str) -> Answer:
    """Undocumented: GetCallback's own envelope (`Code` a number) with eSMS's code and text for it
    (101 wrong keys, 160 over 20 calls a second, as GetZaloMessageStatus documents 160 for its TPS)."""
    return {"Code": int(code), "Message": ERROR_MESSAGES[code], "Data_callback": []}


def template_info_refusal(code: str) -> Answer:
    """Undocumented: GetZnsTemplateInfo's own envelope (`Error` a number) with eSMS's code and text."""
    return {"Data": None, "Error": int(code), "Message": ERROR_MESSAGES[code]}


def _number(value: float) -> float | int:
    """eSMS writes whole amounts without a fraction (`"Balance": 36693`)."""
    return int(value) if float(value).is_integer() else value


def template_list_answer(templates: Mapping[str, ZnsTemplate]) -> Answer:
    """GetTemplate's answer: every template with its parameters' limits and types."""
    return {
        "CodeResult": "100",
        "ErrorMessage": "success",
        "ZNSTemplates": [_template_summary(temp_id, template) for temp_id, template in templates.items()],
    }


def _template_summary(temp_id: str, template: ZnsTemplate) -> Answer:
    return {
        "TempContent": template.content,
        "TempId": int(temp_id),
        "TempName": template.name,
        "ZNSTempDetail": [
            {
                "Limit": param.max_length,
                "Param": param.name,
                "ParamLevel": level,
                "RequireType": REQUIRE_TYPES[param.type],
            }
            for level, param in enumerate(template.params, start=1)
        ],
    }


def template_info_answer(temp_id: str, template: ZnsTemplate) -> Answer:
    """GetZnsTemplateInfo's answer, with the sample's keys and types (TemplateQuality is the text "null")."""
    data = {
        "ListButtons": [],
        "ListParams": [
            {
                "AcceptNull": param.accept_null,
                "MaxLength": param.max_length,
                "MinLength": param.min_length,
                "Name": param.name,
                "Require": param.require,
                "Type": param.type,
            }
            for param in template.params
        ],
        "PreviewUrl": f"https://account.zalo.cloud/znspreview/{temp_id}",
        "Reason": _TEMPLATE_REASONS[template.status],
        "Status": template.status,
        "TemplateId": int(temp_id),
        "TemplateName": template.name,
        "TemplateQuality": "null",
        "TemplateTag": template.tag,
        "Timeout": TEMPLATE_TIMEOUT_MS,
    }
    return {"Data": data, "Error": 0, "Message": "Success"}


def answer_summary(answer: Answer) -> Answer:
    """What the request log keeps of an answer: its result code as text, its error text, its SMSID."""
    code = next(
        (answer[key] for key in ("CodeResult", "CodeResponse", "Code", "Error") if key in answer), None
    )
    message = answer.get("ErrorMessage", answer.get("error"))
    if message is None and code not in (None, 0, 100):
        message = answer.get("Message")
    summary: dict[str, Any] = {"code_result": None if code is None else str(code), "error_message": message}
    if "SMSID" in answer:
        summary["sms_id"] = answer["SMSID"]
    return summary


def send_status_answer(answer: Answer) -> Answer:
    """GetSendStatus answers as documented: CodeResponse (text), the SMSID, numbers as numbers."""
    return answer
