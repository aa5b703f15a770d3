"""The reconciler's settings, and what they make of one waiting message's wait (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from zns_relay.reconciler.report_wait import ESMS_STATUS_MEMORY_SECONDS, ReportWait
from zns_relay.store.records import WaitingMessage


@dataclass(frozen=True)
class ReconcilePolicy:
    unknown_after_seconds: int  # a report this overdue (from acceptance) will not come: UNKNOWN
    recheck_seconds: int  # ask eSMS again this long after an inconclusive answer
    abandon_after_seconds: int  # past its retry window plus this, no queue delivery revisits a message
    # Past this long after acceptance a message ends UNKNOWN unasked: eSMS keeps no status that old.
    unknown_cap_seconds: int = ESMS_STATUS_MEMORY_SECONDS

    def report_wait(self, message: WaitingMessage) -> ReportWait:
        """The message's wait for its report, from its acceptance or the attempt that may have reached
        eSMS (or, lacking both, the look that brought it here)."""
        start = message.accepted_at or message.uncertain_since or message.lease_until or message.check_at
        return ReportWait(start, self.unknown_after_seconds, self.unknown_cap_seconds, self.recheck_seconds)

    def window_end(self, message: WaitingMessage) -> int:
        """From then on no queue delivery revisits the message: its retry window is over."""
        return (message.retry_until or 0) + self.abandon_after_seconds
