"""eSMS's documented samples the simulator's tests compare against, copied from the project's reference.

Source: /work/shared/reference/realworld/ (esms_responses.json, esms_callbacks.txt), itself copied from
eSMS's documentation repositories (devesms/gitbook_esms_for_develop*); the page each came from is noted.
One edit: GetTemplate's TempContent, a long HTML text, is cut to its first characters.
"""

from __future__ import annotations

from typing import Any

# ZNS send V5_post (EN main page = the seed), tab 100
# devesms/gitbook_esms_for_develop_v2_en: esms-api/send-sms-api/send-message-via-zalo.md
SEND_ACCEPTED: dict[str, Any] = {
    "CodeResult": "100",
    "CountRegenerate": 0,
    "SMSID": "d8e0f1f0702544b2acb456ca9ccfd111250",
}

# ZNS send V5_post (EN main page = the seed), tab 101
# devesms/gitbook_esms_for_develop_v2_en: esms-api/send-sms-api/send-message-via-zalo.md
SEND_UNAUTHORIZED: dict[str, Any] = {
    "CodeResult": "101",
    "CountRegenerate": 0,
    "ErrorMessage": "Authorize Failed",
}

# ZNS send V5_post (EN main page = the seed), tab 789
# devesms/gitbook_esms_for_develop_v2_en: esms-api/send-sms-api/send-message-via-zalo.md
SEND_TEMPLATE_NOT_CONFIGURED: dict[str, Any] = {
    "CodeResult": "789",
    "CountRegenerate": 0,
    "ErrorMessage": "TemplateId is not config",
}

# SMS CSKH SendMultipleMessage_V4_post_json, tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-gui-tin/tin-nhan-sms-otp-cskh.md
SMS_ACCEPTED: dict[str, Any] = {
    "CodeResult": "100",
    "CountRegenerate": 0,
    "SMSID": "d533459ee42b2b9525ba9eabf6a8156",
}

# SMS CSKH SendMultipleMessage_V4_post_json, tab 104
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-gui-tin/tin-nhan-sms-otp-cskh.md
SMS_UNKNOWN_BRANDNAME: dict[str, Any] = {
    "CodeResult": "104",
    "CountRegenerate": 0,
    "ErrorMessage": "Brand name code is not exist",
}

# SMS CSKH SendMultipleMessage_V4_post_json, tab 124
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-gui-tin/tin-nhan-sms-otp-cskh.md
SMS_DUPLICATE_REQUEST: dict[str, Any] = {
    "CodeResult": "124",
    "CountRegenerate": 0,
    "ErrorMessage": "Request exist 1",
    "SendStatus": "5",
}

# SMS CSKH SendMultipleMessage_V4_post_json, tab 146
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-gui-tin/tin-nhan-sms-otp-cskh.md
SMS_WRONG_TEMPLATE: dict[str, Any] = {
    "CodeResult": "146",
    "CountRegenerate": 0,
    "ErrorMessage": "Sai template Brandname CSKH",
    "SMSID": "3f5ec8c71c4a4ccea311f731dfeaa133156",
}

# SMS CSKH SendMultipleMessage_V4_post_json, tab 99
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-gui-tin/tin-nhan-sms-otp-cskh.md
SMS_INVALID_REQUEST: dict[str, Any] = {"error": "Invalid request"}

# GetCallback, tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-thong-tin-callback-tin-nhan-zalo.md
GET_CALLBACK: dict[str, Any] = {
    "Code": 100,
    "Message": "Success",
    "Data_callback": [
        {
            "SMSID": "4a496110-9fd3-4838-ac8b-bcaa36616f7011",
            "SendFailed": 1,
            "SendSuccess": 0,
            "SendStatus": 5,
            "TotalPrice": 0.0,
            "TotalReceiver": 1,
            "TotalSent": 1,
            "RequestId": None,
            "TypeId": 25,
            "Telcoid": 1,
            "PhoneNumber": "0909090909",
            "CallbackUrl": "https://api.esms.vn/zalo-zns/zns/receive-callback",
            "Partnerids": "7984e9b198c40e9957d6",
            "ErrorInfo": '{"error":-124,"message":"Access token is invalid"}Object '
            "reference not set to an instance of an object.",
            "OAId": "1090257973118325189",
            "ZnsTempId": "228386",
        }
    ],
}

# QueryZnsStatus (by SMSID), tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-thong-tin-trang-thai-zns-1.md
QUERY_ZNS_STATUS: dict[str, Any] = {
    "CodeResult": "100",
    "Data": {
        "ErrorInfo": "0",
        "FinalStatus": "1",
        "SMSID": "59e0c764219c49119063db4468f257fb221",
        "SendFailed": 0,
        "SendStatus": 5,
        "SendSuccess": 1,
        "TotalPrice": 330.0,
        "TotalReceiver": 1,
        "TotalSent": 1,
        "ZaloMsgId": "6dc7499c9ef6baaee3e1",
    },
}

# GetBalance_json, tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-so-du-tai-khoan.md
GET_BALANCE: dict[str, Any] = {"Balance": 36693, "CodeResponse": "100", "UserID": 9999}

# GetBalance_json, tab 101
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-so-du-tai-khoan.md
GET_BALANCE_UNAUTHORIZED: dict[str, Any] = {
    "Balance": 0,
    "CodeResponse": "101",
    "ErrorMessage": "Authorize Failed",
}

# ZNS/GetQuota, tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   lay-qouta-tin-zalo-theo-oaid.md
GET_QUOTA: dict[str, Any] = {
    "CodeResult": "100",
    "ErrorMessage": "success",
    "DailyQuota": 5000,
    "DailyQuotaPromotion": 0,
    "EstimatedNextMonthPromotionQuota": 425,
    "MonthlyPromotionQuota": 403,
    "RemainingMonthlyPromotionQuota": 403,
    "RemainingQuota": 4992,
    "RemainingQuotaPromotion": 0,
}

# ZNS/GetQuota, tab 101
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   lay-qouta-tin-zalo-theo-oaid.md
GET_QUOTA_UNAUTHORIZED: dict[str, Any] = {"CodeResult": "101", "ErrorMessage": "Authorize Failed"}

# ZNS/GetQuality, tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-kiem-tra-chat-luong-oa.md
GET_QUALITY: dict[str, Any] = {
    "CodeResult": "100",
    "ErrorMessage": "success",
    "Oa7dayQuality": "HIGH",
    "OaCurrentQuality": "MEDIUM",
}

# ZNS/GetQuality, tab 101
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-kiem-tra-chat-luong-oa.md
GET_QUALITY_UNAUTHORIZED: dict[str, Any] = {"CodeResult": "101", "ErrorMessage": "Authorize Failed"}

# GetTemplate (ZNS), tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-danh-sach-template-zalo.md
GET_TEMPLATE: dict[str, Any] = {
    "CodeResult": "100",
    "ErrorMessage": "success",
    "ZNSTemplates": [
        {
            "TempContent": '<div class="group-desc" style="box-sizin',
            "TempId": 205644,
            "TempName": "Xác nhận đăng ký dịch vụ",
            "ZNSTempDetail": [{"Limit": 10, "Param": "otp", "ParamLevel": 1, "RequireType": "type_text"}],
        }
    ],
}

# GetTemplate (ZNS), tab 101
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-danh-sach-template-zalo.md
GET_TEMPLATE_UNAUTHORIZED: dict[str, Any] = {"CodeResult": "101", "ErrorMessage": "Authorize Failed"}

# GetZnsTemplateInfo (GET), tab 100
# devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
#   ham-lay-thong-tin-chi-tiet-template-zalo.md
GET_ZNS_TEMPLATE_INFO: dict[str, Any] = {
    "Data": {
        "ListButtons": [
            {"Content": "https://oa.zalo.me/4097311281936189049", "Title": "Quan tâm OA", "Type": 2}
        ],
        "ListParams": [
            {
                "AcceptNull": False,
                "MaxLength": 100,
                "MinLength": 0,
                "Name": "customer_name",
                "Require": True,
                "Type": "STRING",
            },
            {
                "AcceptNull": False,
                "MaxLength": 100,
                "MinLength": 0,
                "Name": "product_name",
                "Require": True,
                "Type": "STRING",
            },
            {
                "AcceptNull": False,
                "MaxLength": 30,
                "MinLength": 0,
                "Name": "order_code",
                "Require": True,
                "Type": "STRING",
            },
            {
                "AcceptNull": False,
                "MaxLength": 30,
                "MinLength": 0,
                "Name": "date",
                "Require": True,
                "Type": "STRING",
            },
        ],
        "PreviewUrl": "https://account.zalo.cloud/znspreview/NqFkYJ14yilzdlAXteG_rQ==",
        "Reason": "Template đã được duyệt",
        "Status": "ENABLE",
        "TemplateId": 267247,
        "TemplateName": "Đánh giá dịch vụ - text",
        "TemplateQuality": "null",
        "TemplateTag": "TRANSACTION",
        "Timeout": 7200000,
    },
    "Error": 0,
    "Message": "Success",
}

# GetSmsSentData_V2 ("Get the message status"), tab 100, its first item. Not in reference/realworld/: from
# eSMS's page itself, developers.esms.vn/en/esms-api/retrive-and-register-functions/
# ham-kiem-tra-trang-thai-tin-nhan-theo-khoang-thoi-gian (= devesms/gitbook_esms_for_develop:
# esms-api/ham-truy-xuat-thong-tin-sms-brandname-zns/, the page of that name, .md).
# Two edits make it JSON: the comma missing after CountTotal, and `"SendStatus:5` read as "SendStatus": 5.
GET_SMS_SENT_DATA: dict[str, Any] = {
    "CodeResult": "100",
    "CountTotal": 2,
    "SentData": [
        {
            "Campaign": "Chiến dịch 02/10/2023",
            "Content": "Cam on quy khach da su dung dich vu cua chung toi. Chuc quy khach mot ngay tot lanh!",
            "Phone": "0901888484",
            "ReferenceId": "35781d6c25524e40a035c26663189549",
            "SellPrice": 345.0,
            "SendResult": 0,
            "SendStatus": 5,
            "SentTime": "/Date(1705484048995+0700)/",
            "SmsId": 29028845,
            "SmsType": 2,
        }
    ],
}

# "Callback mẫu cho loại tin Zalo", its query string
# devesms/gitbook_esms_for_develop_v2: esms-api/callback-url.md
ZNS_CALLBACK = (
    "SMSID=f66545d2-c7e2-4603-984e-d2238c363c8292&SendFailed=1&SendStatus=5&SendSuccess=0&TotalPrice="
    "0.0000&TotalReceiver=1&TotalSent=0&RequestId=&TypeId=25&telcoid=2&phonenumber=0901888484&partner"
    "ids=&error_info=%22{%5C%22error%5C%22%3A-114%2C%5C%22message%5C%22%3A%5C%22User%20is%20inactive%"
    "2C%20or%20reject%20the%20message%2C%20or%20using%20an%20outdated%20Zalo%20version%2C%20or%20othe"
    "r%20internal%20errors%5C%22}%22&oaid=1397492183140006179&tempid=2056446"
)

# "Callback mẫu cho loại tin CSKH", its query string
# devesms/gitbook_esms_for_develop_v2: esms-api/callback-url.md
SMS_CALLBACK = (
    "SMSID=dc712784-9c5f-4c69-b9a8-ea69d56adc9a87&SendFailed=2&SendStatus=5&SendSuccess=0&TotalPrice="
    "0.0000&TotalReceiver=2&TotalSent=2&RequestId=&TypeId=2&telcoid=1&phonenumber=0901888484&switchsm"
    "sid="
)
