"""TempData against its template's registered limits, before anything is paid for: eSMS answers a send
that does not fit with 790, after a round trip and a send slot. The templates come from eSMS's
GetZnsTemplateInfo and are kept per OA and TempID for a while in this execution environment.

Fail open: when the template cannot be learnt (eSMS unreachable, slow, refusing, or answering what it
does not document, an unknown TempID included), the message is sent as it would be without this check,
and eSMS's own 790 stays the backstop. The failure is logged and counted (TemplateInfoUnavailable) and
remembered for FAILURE_CACHE_SECONDS, so an outage costs one slow call a minute per template, not one a
message.

One look-up per OA and TempID at a time: the threads of a batch that need the same template wait for
the one that is asking (a lock per key), then use its answer, even an expired one, rather than ask again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from zns_relay.config.observability import count, logger
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials, ZaloSendRequest
from zns_relay.models.template import Template, template_problems

FAILURE_CACHE_SECONDS = 60.0
# Kept per environment, oldest dropped first: a producer naming ever new TempIDs cannot grow it further.
MAX_CACHED_TEMPLATES = 500


class TemplateSource(Protocol):
    def template(self, credentials: EsmsCredentials, oa_id: str, temp_id: str) -> Template: ...


@dataclass(frozen=True)
class _Known:
    template: Template | None  # None: the last look-up failed
    expires_at: float


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    known: _Known = _Known(None, float("-inf"))  # replaced whole, never changed: read without the lock


class TemplateLimits:
    """Thread-safe; one per execution environment."""

    def __init__(
        self,
        source: TemplateSource,
        credentials: Callable[[], EsmsCredentials],
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._credentials = credentials
        self._ttl = ttl_seconds
        self._clock = clock
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._slots_lock = threading.Lock()

    def problem(self, request: ZaloSendRequest) -> str | None:
        """Why eSMS would refuse this message's TempData, or None (also when the template cannot be learnt
        or is not enabled). Names parameters and lengths, never a value."""
        template = self._template(request.oa_id, request.temp_id)
        if template is None:
            return None
        if not template.enabled:
            # Not the message's fault, and maybe not for long (a template under review, or disabled for
            # its quality until it is fixed): it is sent, and Zalo's refusal (-131, -146) is reported.
            count("TemplateNotEnabled")
            logger.warning(
                "template not enabled at eSMS: sending unchecked",
                extra={"temp_id": request.temp_id, "template_status": template.status},
            )
            return None
        problems = template_problems(template, request.temp_data)
        if not problems:
            return None
        return f"TempData does not fit template {request.temp_id} as eSMS has it: {'; '.join(problems)}"

    def _template(self, oa_id: str, temp_id: str) -> Template | None:
        slot = self._slot((oa_id, temp_id))
        known = slot.known
        if self._clock() < known.expires_at:
            return known.template
        with slot.lock:
            if slot.known is not known:  # another thread asked while this one waited: its answer serves
                return slot.known.template
            slot.known = self._look_up(oa_id, temp_id)
            return slot.known.template

    def _slot(self, key: tuple[str, str]) -> _Slot:
        with self._slots_lock:
            slot = self._slots.get(key)
            if slot is None:
                if len(self._slots) >= MAX_CACHED_TEMPLATES:
                    del self._slots[next(iter(self._slots))]
                slot = self._slots[key] = _Slot()
            return slot

    def _look_up(self, oa_id: str, temp_id: str) -> _Known:
        try:
            template = self._source.template(self._credentials(), oa_id, temp_id)
        except (EsmsQueryFailed, ConfigurationError) as error:
            count("TemplateInfoUnavailable")
            logger.warning(
                "template limits unknown (GetZnsTemplateInfo failed): sending unchecked",
                extra={"temp_id": temp_id, "reason": str(error)},
            )
            return _Known(None, self._clock() + min(FAILURE_CACHE_SECONDS, self._ttl))
        return _Known(template, self._clock() + self._ttl)
