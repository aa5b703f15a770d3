"""One send to eSMS as the sender makes it: with the cached credentials (read again once, should eSMS
refuse them), the latency metric, and the shared send rate told how eSMS answered."""

from __future__ import annotations

from typing import Protocol

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import logger, milliseconds
from zns_relay.models.esms import CREDENTIALS_CODE, EsmsCredentials, SendRequest, SendResult, is_known_code
from zns_relay.sender.failure_policy import TPS_LIMIT_CODE
from zns_relay.sender.pacing import SendPacer

RESEND_SLOT_WAIT_SECONDS = 2.0


class EsmsSender(Protocol):
    def send(self, request: SendRequest, credentials: EsmsCredentials) -> SendResult: ...


class EsmsCalls:
    """Sends requests to eSMS; safe to call from several threads at once."""

    def __init__(
        self, esms: EsmsSender, credentials: SecretCache[EsmsCredentials], pacer: SendPacer | None
    ) -> None:
        self._esms = esms
        self._credentials = credentials
        self._pacer = pacer

    def send(self, request: SendRequest) -> SendResult:
        credentials = self._credentials.get()
        result = self._call(request, credentials)
        if result.code == CREDENTIALS_CODE:
            # The secret may have been rotated since we cached it: read it again, and if it did
            # change, try once more at once if a send slot is free (eSMS refused the first call, so
            # nothing is doubled); else the next receive sends it with the new keys.
            fresh = self._credentials.refresh()
            if fresh != credentials and (
                self._pacer is None or self._pacer.turn(max_wait=RESEND_SLOT_WAIT_SECONDS)
            ):
                logger.info("eSMS refused the cached credentials; retrying with the re-read secret")
                result = self._call(request, fresh)
        return result

    def _call(self, request: SendRequest, credentials: EsmsCredentials) -> SendResult:
        result = self._esms.send(request, credentials)
        milliseconds("EsmsLatency", result.latency_ms)
        if self._pacer is not None and result.code is not None:
            if result.code == TPS_LIMIT_CODE:
                self._pacer.throttled()
            else:
                self._pacer.answered()
        if result.code is not None and not is_known_code(result.code):
            logger.warning("eSMS answered an unknown code; retrying", extra={"esms_code": result.code})
        return result
