"""eSMS's per-OA account endpoints: ZNS/GetQuota (today's quota and what is left of it) and
ZNS/GetQuality (the OA's sending quality), read by the guardrails check and the CLI's `quota`.

Both are `POST {base}/ZNS/...` with the JSON body {ApiKey, SecretKey, OAID}, and answer CodeResult "100"
with their fields, or another code with ErrorMessage (101 "Authorize Failed"):
devesms/gitbook_esms_for_develop_v2, esms-api/ham-truy-xuat-va-dang-ky/lay-qouta-tin-zalo-theo-oaid.md
(GetQuota: DailyQuota, RemainingQuota and the promotion quotas; one edition types them "string", the
other int, so both are read) and esms-api/ham-truy-xuat-va-dang-ky/ham-kiem-tra-chat-luong-oa.md
(GetQuality: Oa7dayQuality, OaCurrentQuality, each HIGH, MEDIUM, LOW or UNDEFINED).
"""

from __future__ import annotations

from typing import Any

import requests

from zns_relay.esms.http import pooled_session, query, require_success, whole_number
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.guardrails import OaQuality, Quality, ZnsQuota

QUOTA_PATH = "ZNS/GetQuota/"
QUALITY_PATH = "ZNS/GetQuality/"
_ENVELOPE = ("CodeResult", "ErrorMessage")


class OaAccountClient:
    """Thread-safe; one pooled session."""

    def __init__(
        self,
        base_url: str,
        timeout: float | tuple[float, float] = (3.05, 10.0),  # (connect, read), or one for both
        session: requests.Session | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._session = session or pooled_session(2)

    def quota(self, credentials: EsmsCredentials, oa_id: str) -> ZnsQuota:
        counters = self._ask(QUOTA_PATH, credentials, oa_id)
        return ZnsQuota(
            daily=whole_number(counters.get("DailyQuota")),
            remaining=whole_number(counters.get("RemainingQuota")),
            counters=counters,
        )

    def quality(self, credentials: EsmsCredentials, oa_id: str) -> OaQuality:
        answer = self._ask(QUALITY_PATH, credentials, oa_id)
        return OaQuality(
            current=Quality.of(answer.get("OaCurrentQuality")),
            seven_days=Quality.of(answer.get("Oa7dayQuality")),
        )

    def _ask(self, path: str, credentials: EsmsCredentials, oa_id: str) -> dict[str, Any]:
        """The answer's fields but its code and message; EsmsQueryFailed unless eSMS answered 100."""
        fields = {**credentials.request_fields(), "OAID": oa_id}
        answer = query(self._session, "POST", f"{self._base}/{path}", fields, self._timeout)
        require_success(answer, "CodeResult")
        return {key: value for key, value in answer.items() if key not in _ENVELOPE}
