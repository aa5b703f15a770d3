"""eSMS's account and template endpoints, for operators and producers checking before they send:
GetBalance_json, ZNS/GetQuota (through zns_relay.esms.account, which the guardrails function uses too),
GetTemplate (every template of an OA, with its parameters' limits and types) and GetZnsTemplateInfo
(one template's parameters: required, may be empty, length range, type).

The two template endpoints describe a parameter differently; both become the layer's TemplateParameter
(zns_relay.models.template), with what GetTemplate does not say (required, may be empty, minimum length)
left unknown. GetZnsTemplateInfo is the layer's call (zns_relay.esms.templates), which the sender makes too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from zns_relay.esms.account import OaAccountClient
from zns_relay.esms.http import EsmsQueryFailed, pooled_session, query, require_success, whole_number
from zns_relay.esms.templates import EsmsTemplateClient
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.template import Template, TemplateParameter

BALANCE_PATH = "GetBalance_json"
TEMPLATES_PATH = "GetTemplate/"
DEFAULT_TEMPLATE_SMS_TYPE = "24"  # GetTemplate's documented sample
# GetTemplate's RequireType, as GetZnsTemplateInfo names the same types.
REQUIRE_TYPES = {"type_text": "STRING", "type_number": "NUMBER", "type_date": "DATE"}


@dataclass(frozen=True)
class Balance:
    balance: float
    user_id: int | None


class EsmsAccountClient:
    """Thread-safe; one pooled session."""

    def __init__(
        self, base_url: str, timeout_seconds: float = 10.0, session: requests.Session | None = None
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._session = session or pooled_session(2)
        self._oa = OaAccountClient(base_url, timeout_seconds, self._session)
        self._template_info = EsmsTemplateClient(self._base, timeout_seconds, self._session)

    def balance(self, credentials: EsmsCredentials) -> Balance:
        answer = self._call("POST", BALANCE_PATH, credentials.request_fields())
        require_success(answer, "CodeResponse")
        user_id = answer.get("UserID")
        try:
            return Balance(float(answer.get("Balance", 0)), int(user_id) if user_id is not None else None)
        except (TypeError, ValueError):
            raise EsmsQueryFailed("eSMS's balance answer is not a number") from None

    def quota(self, credentials: EsmsCredentials, oa_id: str) -> dict[str, Any]:
        """ZNS/GetQuota's counters (DailyQuota, RemainingQuota, the promotion quotas), as eSMS names them."""
        return dict(self._oa.quota(credentials, oa_id).counters)

    def templates(
        self, credentials: EsmsCredentials, oa_id: str, sms_type: str = DEFAULT_TEMPLATE_SMS_TYPE
    ) -> list[Template]:
        body = {**credentials.request_fields(), "OAId": oa_id, "SmsType": sms_type}
        answer = self._call("POST", TEMPLATES_PATH, body)
        require_success(answer, "CodeResult")
        return [_summary(item) for item in answer.get("ZNSTemplates") or []]

    def template(self, credentials: EsmsCredentials, oa_id: str, temp_id: str) -> Template:
        """One template's full parameter spec and status (GetZnsTemplateInfo)."""
        return self._template_info.template(credentials, oa_id, temp_id)

    def _call(self, method: str, path: str, fields: Mapping[str, str]) -> dict[str, Any]:
        return query(self._session, method, f"{self._base}/{path}", fields, self._timeout)


def _summary(item: Mapping[str, Any]) -> Template:
    parameters = tuple(
        TemplateParameter(
            name=str(param.get("Param")),
            type=REQUIRE_TYPES.get(str(param.get("RequireType")), str(param.get("RequireType"))),
            max_length=whole_number(param.get("Limit")),
        )
        for param in item.get("ZNSTempDetail") or []
    )
    return Template(str(item.get("TempId")), str(item.get("TempName") or ""), parameters)
