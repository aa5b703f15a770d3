"""HTTP client for eSMS SendZaloMessage_V5_post: one pooled session, strict timeouts, every answer parsed.

A send whose answer cannot be read (not in time, larger than the session's cap, JSON nested too deep)
may have been accepted: it is retried as possibly accepted, never marked FAILED for it."""

from __future__ import annotations

import time
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from zns_relay.config.observability import secret_values
from zns_relay.esms.http import MAX_ANSWER_BYTES, AnswerTooLarge, NestedTooDeep, parse_json, pooled_session
from zns_relay.models.esms import (
    EsmsCredentials,
    ResultClass,
    SendRequest,
    SendResult,
    SmsSendRequest,
    ZaloSendRequest,
    classify_code,
)

SEND_ZALO_PATH = "SendZaloMessage_V5_post/"
SEND_SMS_PATH = "SendMultipleMessage_V4_post_json/"
CUSTOMER_CARE_SMS_TYPE = "2"  # customer care / OTP brandname SMS
MAX_ERROR_MESSAGE_CHARS = 300  # eSMS's messages are short; anything longer is not worth keeping


def build_send_body(request: ZaloSendRequest, credentials: EsmsCredentials) -> dict[str, Any]:
    """The request body exactly as eSMS's seed page shows it: its field names, every value a string."""
    body: dict[str, Any] = {
        **credentials.request_fields(),
        "OAID": request.oa_id,
        "Phone": request.phone,
        "TempData": [{"key": param.key, "value": param.value} for param in request.temp_data],
        "SendDate": request.send_date or "",
        "TempID": request.temp_id,
        "campaignid": request.campaign_id or "",
        "Sandbox": "1" if request.sandbox else "0",
        "CallbackUrl": request.callback_url or "",
        "RequestId": request.request_id,
        "SendingMode": request.sending_mode or "1",
    }
    return body


def build_sms_body(request: SmsSendRequest, credentials: EsmsCredentials) -> dict[str, Any]:
    """The SMS request body as eSMS documents it (its field names, every value a string)."""
    return {
        **credentials.request_fields(),
        "Phone": request.phone,
        "Content": request.content,
        "Brandname": request.brandname,
        "SmsType": CUSTOMER_CARE_SMS_TYPE,
        "IsUnicode": "1" if request.is_unicode else "0",
        "Sandbox": "1" if request.sandbox else "0",
        "campaignid": request.campaign_id or "",
        "RequestId": request.request_id,
        "CallbackUrl": request.callback_url or "",
    }


class EsmsClient:
    """Thread-safe: one requests.Session whose connection pool is sized for the send concurrency."""

    def __init__(
        self,
        base_url: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        pool_size: int = 10,
        session: requests.Session | None = None,
    ) -> None:
        self._send_url = f"{base_url.rstrip('/')}/{SEND_ZALO_PATH}"
        self._sms_url = f"{base_url.rstrip('/')}/{SEND_SMS_PATH}"
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or pooled_session(pool_size)

    @property
    def send_url(self) -> str:
        return self._send_url

    def send(self, request: SendRequest, credentials: EsmsCredentials) -> SendResult:
        """POST one message, ZNS or SMS; never raises for eSMS's or the network's failures, it
        classifies them."""
        if isinstance(request, SmsSendRequest):
            return self._post(self._sms_url, build_sms_body(request, credentials))
        return self._post(self._send_url, build_send_body(request, credentials))

    def _post(self, url: str, body: dict[str, Any]) -> SendResult:
        started = time.perf_counter()
        try:
            response = self._session.post(url, json=body, timeout=self._timeout)
        except requests.ConnectTimeout:
            return _transport_failure("could not connect to eSMS in time", started, possibly_accepted=False)
        except requests.Timeout:
            return _transport_failure("eSMS did not answer in time", started, possibly_accepted=True)
        except AnswerTooLarge:
            message = f"eSMS answered with more than {MAX_ANSWER_BYTES} bytes"
            return _transport_failure(message, started, possibly_accepted=True)
        except requests.RequestException as error:
            return _transport_failure(
                f"could not reach eSMS ({type(error).__name__})",
                started,
                possibly_accepted=_request_may_have_arrived(error),
            )
        return parse_send_response(response.status_code, response.content, _elapsed_ms(started))


def parse_send_response(http_status: int, text: str | bytes, latency_ms: float = 0.0) -> SendResult:
    """Classify any HTTP answer: JSON with CodeResult, an error page, or something unparseable.

    Only an answer that shows eSMS did not take the request counts as a refusal; one that could hide
    an acceptance (a gateway's 502 or 504, a 500, a garbled 200) is marked possibly accepted.
    """
    if http_status >= 300:
        # 503: the service did not take the request; 3xx and 4xx: it was not handled as a send.
        refused = http_status < 500 or http_status == 503
        return SendResult(
            ResultClass.TRANSIENT,
            None,
            message=f"eSMS answered HTTP {http_status}",
            latency_ms=latency_ms,
            possibly_accepted=not refused,
        )
    try:
        payload = parse_json(text)
    except NestedTooDeep:
        return _unreadable("eSMS answered with JSON nested too deep", latency_ms)
    except ValueError:
        return _unreadable("eSMS answered with a body that is not JSON", latency_ms)
    if (
        isinstance(payload, dict)
        and payload.get("CodeResult") in (None, "")
        and isinstance(payload.get("error"), str)
    ):
        # eSMS's documented refusal of a malformed request: {"error": "Invalid request"}
        reason = secret_values.scrub(payload["error"])[:MAX_ERROR_MESSAGE_CHARS]
        return SendResult(
            ResultClass.PERMANENT, None, message=f"eSMS refused the request: {reason}", latency_ms=latency_ms
        )
    if not isinstance(payload, dict) or payload.get("CodeResult") in (None, ""):
        return _unreadable("eSMS answered without a CodeResult", latency_ms)
    code = str(payload["CodeResult"]).strip()
    sms_id = payload.get("SMSID")
    return SendResult(
        result_class=classify_code(code),
        code=code,
        sms_id=str(sms_id) if sms_id not in (None, "") else None,
        # Stored and logged: never let it carry a key back, or grow an item.
        message=secret_values.scrub(str(payload.get("ErrorMessage") or ""))[:MAX_ERROR_MESSAGE_CHARS],
        latency_ms=latency_ms,
    )


def _unreadable(message: str, latency_ms: float) -> SendResult:
    """An HTTP 200 we cannot read: eSMS may have taken the request."""
    return SendResult(
        ResultClass.TRANSIENT, None, message=message, latency_ms=latency_ms, possibly_accepted=True
    )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _request_may_have_arrived(error: requests.RequestException) -> bool:
    """False only when the connection itself failed (refused, unresolvable, an untrusted certificate):
    nothing was sent. A TLS error after the handshake can come after the request went out."""
    if isinstance(error, requests.exceptions.SSLError):
        return "certificate verify failed" not in str(error).lower()
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, NewConnectionError)


def _transport_failure(message: str, started: float, *, possibly_accepted: bool) -> SendResult:
    return SendResult(
        ResultClass.TRANSIENT,
        None,
        message=message,
        latency_ms=_elapsed_ms(started),
        possibly_accepted=possibly_accepted,
    )
