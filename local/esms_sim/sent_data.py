"""GetSmsSentData_V2 ("Get the message status"): the account's messages created in a time range, paged.

eSMS documents the request (`SmsType`; `From` and `To` as `yyyy-MM-dd HH:mm:ss`, eSMS's time being
Vietnam's, UTC+7; `Page`; `PageSize` of at most 500) and the 100 answer, but no refusal of a bad query.
The simulator's choices, each an error-table code with the nearest documented wording:

- SmsType missing: 300 ("missing message type"); not one of the documented 1 2 8 23 24 25 26: 118.
- From or To missing or not such a date, To before From, or a range over 3 days: 161, the code of
  eSMS's other paged, dated list (Zalo followers: "FromDate is invalid date format."). 3 days is the V1
  edition's limit; the V2 page states none (its Vietnamese sample asks 20 days), so a client that keeps
  to 3 days works with both.
- Page below 1, PageSize outside 1..500, or either not a whole number: 162, the same list's "Offset is
  invalid." / "Count is invalid.". Absent, they are 1 and 500: the Vietnamese page requires neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from local.esms_sim.answers import status_refusal
from local.esms_sim.reports import TYPE_ID, AcceptedMessage
from local.esms_sim.validation import Refusal

QUERY_FIELDS = ("SmsType", "From", "To", "Page", "PageSize")
SMS_TYPES = frozenset({"1", "2", "8", "23", "24", "25", "26"})
MAX_PAGE_SIZE = 500
MAX_RANGE = timedelta(days=3)
VIETNAM = timezone(timedelta(hours=7))
_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_WHOLE = re.compile(r"\d{1,9}", re.ASCII)


@dataclass(frozen=True)
class SentDataQuery:
    """One page of the messages of `sms_type` created from `start` to `end` (both included)."""

    sms_type: str
    start: datetime
    end: datetime
    page: int
    page_size: int

    def page_of(self, messages: Iterable[AcceptedMessage]) -> tuple[int, list[AcceptedMessage]]:
        """How many messages the range holds, and this page of them, oldest first."""
        start, end = self.start.timestamp(), self.end.timestamp()
        matching = sorted(
            (
                message
                for message in messages
                if TYPE_ID[message.channel] == self.sms_type and start <= message.created_at <= end
            ),
            key=lambda message: (message.created_at, message.portal_id),
        )
        first = (self.page - 1) * self.page_size
        return len(matching), matching[first : first + self.page_size]


def sent_data_query(fields: Mapping[str, str]) -> SentDataQuery:
    """The query's checks, in that order; raises Refusal."""
    sms_type = fields["SmsType"]
    if not sms_type:
        raise Refusal(status_refusal("300"))
    if sms_type not in SMS_TYPES:
        raise Refusal(status_refusal("118"), f"SmsType {sms_type} is not documented")
    start, end = _vietnam_time(fields["From"]), _vietnam_time(fields["To"])
    if start is None:
        raise Refusal(status_refusal("161", "From is invalid date format."))
    if end is None:
        raise Refusal(status_refusal("161", "To is invalid date format."))
    if end < start:
        raise Refusal(status_refusal("161", "To is before From."))
    if end - start > MAX_RANGE:
        raise Refusal(status_refusal("161", f"The range is over {MAX_RANGE.days} days."))
    page = _whole(fields["Page"], default=1)
    if page is None or page < 1:
        raise Refusal(status_refusal("162", "Page is invalid."))
    page_size = _whole(fields["PageSize"], default=MAX_PAGE_SIZE)
    if page_size is None or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Refusal(status_refusal("162", "PageSize is invalid."))
    return SentDataQuery(sms_type, start, end, page, page_size)


def _vietnam_time(text: str) -> datetime | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=VIETNAM)
    except ValueError:
        return None


def _whole(text: str, *, default: int) -> int | None:
    if not text:
        return default
    return int(text) if _WHOLE.fullmatch(text) else None
