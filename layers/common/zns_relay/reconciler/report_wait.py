"""How long a message waits for its final delivery report, and what alone may end the wait UNKNOWN.

UNKNOWN says that eSMS holds no final report for the message, so it takes eSMS's word: a message ends
UNKNOWN when eSMS, asked after the report became overdue (its deadline: UnknownAfterHours after
acceptance), answered without a final report. While eSMS's status endpoints cannot be asked, an overdue
message waits. Only past a hard cap does it end UNKNOWN unasked: eSMS keeps a message's status for 7 days
("Chỉ lấy dữ liệu các tin trong vòng 7 ngày gần nhất", GetSendStatus,
https://developers.esms.vn/esms-api/ham-truy-xuat-va-dang-ky/ham-kiem-tra-tin-nhan-theo-smsid), so past
that no answer eSMS could give would hold a report, and an outage of its status endpoints lasting from a
72-hour deadline to then (four days) is past any plausible one.
"""

from __future__ import annotations

from dataclasses import dataclass

ESMS_STATUS_MEMORY_SECONDS = 7 * 24 * 3600  # eSMS's status data covers the last 7 days (above)


@dataclass(frozen=True)
class ReportWait:
    """One message's wait, in epoch seconds; pure, so that the rule is tested on its own."""

    start: int  # eSMS accepted it, or the attempt that may have reached eSMS was made
    unknown_after: int  # the report is overdue this long after `start`
    cap: int  # past this long after `start`, eSMS holds nothing more to ask for
    recheck: int  # an inconclusive look is followed by another this much later

    @property
    def deadline(self) -> int:
        return self.start + self.unknown_after

    @property
    def hard_stop(self) -> int:
        return self.start + self.cap

    def overdue(self, now: int) -> bool:
        return now >= self.deadline

    def ends_unasked(self, now: int) -> bool:
        """Past the cap: UNKNOWN without a question (eSMS keeps no status this old)."""
        return now >= self.hard_stop

    def ends_on_answer(self, asked_at: int) -> bool:
        """eSMS, asked at `asked_at`, answered without a final report: UNKNOWN if the question came at
        or after the deadline; before it, the message waits on."""
        return asked_at >= self.deadline

    def next_look(self, now: int) -> int:
        """When to look again after an inconclusive answer or a question eSMS could not take: a recheck
        interval on, but no later than the deadline (the last look must come after it) or, once overdue,
        than the cap."""
        return min(now + self.recheck, self.deadline if now < self.deadline else self.hard_stop)
