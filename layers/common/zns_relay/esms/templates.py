"""eSMS's GetZnsTemplateInfo: one template's parameters (name, type, length range, required, may be
empty) and status, for the sender's check of TempData before it pays for a send, and for the CLI.

eSMS's page (devesms/gitbook_esms_for_develop_v2: esms-api/ham-truy-xuat-va-dang-ky/
ham-lay-thong-tin-chi-tiet-template-zalo.md; its English twin devesms/gitbook_esms_for_develop_v2_en:
esms-api/retrive-and-register-functions/get-zalo-template-details.md) documents a GET with TemplateId,
ApiKey, SecretKey and OAId in the query, and the answer `{"Data": {..., "ListParams": [{"Name", "Require",
"Type", "MaxLength", "MinLength", "AcceptNull"}], "Status", "TemplateId", ...}, "Error": 0, "Message":
"Success"}`. Both pages show the sample's values as JSON booleans and numbers, but their tables type
`Error` (Vietnamese) and every ListParams field (English) as "string": both spellings are read here,
and a value read as neither is left unknown, so never enforced. Neither page shows an answer other than
success (an unknown TempID included): any answer without `Error` 0 and a `Data` object listing
parameters is a failure to learn the template, never a verdict on the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from zns_relay.esms.http import EsmsQueryFailed, pooled_session, query, whole_number
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.template import Template, TemplateParameter

TEMPLATE_INFO_PATH = "GetZnsTemplateInfo"
MAX_REASON_CHARS = 200  # of eSMS's Message, quoted in the failure


class EsmsTemplateClient:
    """Thread-safe; one pooled session."""

    def __init__(
        self,
        base_url: str,
        timeout: float | tuple[float, float] = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{TEMPLATE_INFO_PATH}"
        self._timeout = timeout
        self._session = session or pooled_session(2)

    def template(self, credentials: EsmsCredentials, oa_id: str, temp_id: str) -> Template:
        """One template's full parameter spec and status; EsmsQueryFailed when eSMS does not give it."""
        fields = {"TemplateId": temp_id, **credentials.request_fields(), "OAId": oa_id}
        return template_from_info(query(self._session, "GET", self._url, fields, self._timeout))


def template_from_info(answer: Mapping[str, Any]) -> Template:
    """GetZnsTemplateInfo's answer as a Template; EsmsQueryFailed for a refusal or an answer that does
    not list the template's parameters."""
    data = answer.get("Data")
    if str(answer.get("Error")) != "0" or not isinstance(data, dict):
        code = str(answer.get("Error"))
        reason = str(answer.get("Message") or "refused")[:MAX_REASON_CHARS]
        raise EsmsQueryFailed(f"eSMS {code}: {reason}", code)
    listed = data.get("ListParams")
    if not isinstance(listed, list) or not all(_is_parameter(param) for param in listed):
        raise EsmsQueryFailed("eSMS's template answer does not list its parameters")
    parameters = tuple(
        TemplateParameter(
            name=param["Name"],
            type=str(param.get("Type")),
            max_length=whole_number(param.get("MaxLength")),
            min_length=whole_number(param.get("MinLength")),
            required=_flag(param.get("Require")),
            accept_null=_flag(param.get("AcceptNull")),
        )
        for param in listed
    )
    status = data.get("Status")
    tag = data.get("TemplateTag")
    return Template(
        str(data.get("TemplateId")),
        str(data.get("TemplateName") or ""),
        parameters,
        status=status if isinstance(status, str) else None,
        tag=tag if isinstance(tag, str) else None,
    )


def _flag(value: Any) -> bool | None:
    """A boolean eSMS wrote as one or as "true"/"false"; None (unknown) for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _is_parameter(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("Name"), str) and bool(value["Name"])
