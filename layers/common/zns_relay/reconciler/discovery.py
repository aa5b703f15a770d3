"""Finding the SMSID of a message eSMS accepted without our hearing its answer.

A send that timed out may still have been accepted; its retry then hears 124 ("duplicate RequestId"),
which carries no SMSID, and its callbacks carry the SMSID but can be lost. Without the SMSID nothing
can be asked of eSMS about the message. eSMS's list of sent messages (GetSmsSentData_V2) gives, for a
time range, each message's phone and SMSID: a message is matched by its phone and the time of the
attempt that may have reached eSMS, and only when the listing is complete and exactly one listed
message fits, whose SMSID no other message of ours holds or could take. Only a complete listing in
which no row could be the message's is eSMS's word that it holds none; a message that several rows fit,
or that could not be looked up (no phone), is undecided and waits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from zns_relay.config.observability import logger
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.esms.status import (
    MAX_SENT_DATA_PAGE,
    SMS_TYPES,
    ZNS_SMS_TYPES,
    SentMessage,
    SentPage,
)
from zns_relay.models.contract import ESMS_TIMEZONE
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.state import Channel, MessageStatus
from zns_relay.reconciler.rate_limit import RateLimiter
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import WaitingMessage

# eSMS keeps a RequestId for 24 hours: a 124 means an attempt within that time reached it.
DUPLICATE_MEMORY_SECONDS = 24 * 3600
MAX_RANGE = timedelta(days=3)  # the longest range eSMS lists at once (documented for V1)
_ESMS_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SentMessagesSource(Protocol):
    def sent_messages(
        self,
        sms_type: str,
        start: str,
        end: str,
        credentials: EsmsCredentials,
        *,
        page: int,
        page_size: int = ...,
    ) -> SentPage: ...


@dataclass(frozen=True)
class Discovery:
    """What eSMS's list of sent messages, read whole, says of the messages looked for (by RequestId).
    One looked up but in neither `found` nor `absent` is undecided: several rows fit it."""

    looked_up: frozenset[str]  # the messages the list was read for (a message with no phone is not)
    found: dict[str, str]  # the one SMSID that fits the message
    absent: frozenset[str]  # no listed row could be the message's: eSMS's word that it holds none


@dataclass(frozen=True)
class _Window:
    start: int  # epoch seconds
    end: int

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment.timestamp() <= self.end


class SmsIdFinder:
    def __init__(
        self,
        store: MessageStore,
        source: SentMessagesSource,
        limiter: RateLimiter,
        *,
        margin_seconds: int = 180,
        max_pages: int = 100,
    ) -> None:
        self._store = store
        self._source = source
        self._limiter = limiter
        self._margin = margin_seconds
        self._max_pages = max_pages

    def find(
        self,
        messages: Sequence[WaitingMessage],
        credentials: EsmsCredentials,
        now: int,
        time_is_up: Callable[[], bool] = lambda: False,
    ) -> Discovery | None:
        """The SMSID of each message that can be matched without doubt, and the messages no listed row
        could be; None when the listing cannot be read whole (a failure, the page budget,
        `time_is_up()`): eSMS was not asked."""
        wanted = [message for message in messages if message.phone]
        if not wanted:
            return Discovery(frozenset(), {}, frozenset())
        windows = {message.request_id: self._window(message, now) for message in wanted}
        sms_types = sorted({sms_type for message in wanted for sms_type in _types(message)})
        listed = self._list(_merged(windows.values()), sms_types, credentials, time_is_up)
        if listed is None:
            return None  # an incomplete listing proves nothing: the true row may be on a page not read
        candidates = {
            message.request_id: {
                row.sms_id
                for row in listed.get(message.phone or "", [])
                if windows[message.request_id].holds(row.sent_at) and row.sms_type in _types(message)
            }
            for message in wanted
        }
        # An SMSID that fits two of the messages looked for belongs to at most one: neither takes it,
        # and neither is told eSMS holds nothing for it. One that another message of ours holds is not
        # a candidate.
        fits = Counter(sms_id for found in candidates.values() for sms_id in found)
        found: dict[str, str] = {}
        absent: set[str] = set()
        for message in wanted:
            possible = {
                sms_id
                for sms_id in candidates[message.request_id]
                if self._store.owner_of(sms_id) in (None, message.request_id)
            }
            if not possible:
                absent.add(message.request_id)
            elif len(possible) == 1 and fits[next(iter(possible))] == 1:
                found[message.request_id] = possible.pop()
            else:
                logger.info(
                    "no single sent message fits; SMSID left unknown",
                    extra={"request_id": message.request_id},
                )
        return Discovery(frozenset(message.request_id for message in wanted), found, frozenset(absent))

    def adopt(self, message: WaitingMessage, sms_id: str, now: int, recheck_seconds: int) -> bool:
        """Record an SMSID found in eSMS's list: proof, too, that eSMS accepted the message
        (a RETRYING one becomes ACCEPTED, looked at again `recheck_seconds` on)."""
        data = {"sms_id": sms_id, "source": "GetSmsSentData_V2"}
        if message.status is MessageStatus.RETRYING:
            return bool(
                self._store.transition(
                    message.request_id,
                    MessageStatus.ACCEPTED,
                    "eSMS holds it: found in its list of sent messages",
                    keep_fields={"sms_id": sms_id, "accepted_at": now},
                    data=data,
                    only_from=frozenset({MessageStatus.RETRYING}),
                    check_at=now + recheck_seconds,
                )
            )
        return bool(
            self._store.note(
                message.request_id,
                "SMSID found in eSMS's list of sent messages",
                data,
                while_in=frozenset({message.status}),
                keep_fields={"sms_id": sms_id},
            )
        )

    def _window(self, message: WaitingMessage, now: int) -> _Window:
        """When the attempt that reached eSMS was made: from the first uncertain attempt (or, for a
        124 with no such mark, eSMS's 24-hour memory before acceptance) to the acceptance."""
        end = message.accepted_at or message.uncertain_since or now
        start = message.uncertain_since or end - DUPLICATE_MEMORY_SECONDS
        return _Window(start - self._margin, end + self._margin)

    def _list(
        self,
        ranges: Iterable[_Window],
        sms_types: Sequence[str],
        credentials: EsmsCredentials,
        time_is_up: Callable[[], bool],
    ) -> dict[str, list[SentMessage]] | None:
        """eSMS's sent ZNS messages in the ranges, by phone; None when the listing could not be read
        whole (a failure, or the page budget spent)."""
        by_phone: dict[str, list[SentMessage]] = defaultdict(list)
        pages = 0
        for window in ranges:
            for start, end in _slices(window):
                for sms_type in sms_types:
                    page, done = 1, False
                    while not done:
                        if pages == self._max_pages or time_is_up():
                            logger.warning("GetSmsSentData_V2 not read whole; no SMSID adopted this run")
                            return None
                        self._limiter.acquire()
                        pages += 1
                        try:
                            listed = self._source.sent_messages(sms_type, start, end, credentials, page=page)
                        except EsmsQueryFailed as error:
                            logger.warning("GetSmsSentData_V2 failed", extra={"reason": str(error)})
                            return None
                        for row in listed.messages:
                            by_phone[row.phone].append(row)
                        done = not listed.messages or page * MAX_SENT_DATA_PAGE >= listed.total
                        page += 1
        return by_phone


def _types(message: WaitingMessage) -> tuple[str, ...]:
    """The SmsTypes eSMS lists the message under: a customer-care SMS, or a ZNS of either kind."""
    return SMS_TYPES if message.channel is Channel.SMS else ZNS_SMS_TYPES


def _merged(windows: Iterable[_Window]) -> list[_Window]:
    merged: list[_Window] = []
    for window in sorted(windows, key=lambda item: item.start):
        if merged and window.start <= merged[-1].end:
            merged[-1] = _Window(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return merged


def _slices(window: _Window) -> Iterable[tuple[str, str]]:
    """The window as eSMS's From/To pairs (Vietnam time), no longer than it lists at once."""
    start = datetime.fromtimestamp(window.start, UTC)
    end = datetime.fromtimestamp(window.end, UTC)
    while start < end:
        stop = min(end, start + MAX_RANGE)
        yield _esms_time(start), _esms_time(stop)
        start = stop


def _esms_time(moment: datetime) -> str:
    return moment.astimezone(ESMS_TIMEZONE).strftime(_ESMS_TIME_FORMAT)
