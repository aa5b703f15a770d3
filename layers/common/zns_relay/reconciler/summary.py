"""What one reconciler run did: logged, and the source of its metrics (EsmsStatusUnreachable too)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class ReconcileSummary:
    examined: int = 0
    asked: int = 0
    get_callback_calls: int = 0
    query_status_calls: int = 0
    applied: int = 0
    ended: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rescheduled: int = 0
    sms_ids_found: int = 0
    resends_queued: int = 0  # DEFERRED messages due again, queued for the sender
    answers: int = 0  # questions eSMS's status endpoints answered (a "not found" too)
    query_failures: int = 0  # questions they could not take: failed, or not put (configuration)
    store_errors: int = 0
    stopped_early: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "examined": self.examined,
            "asked": self.asked,
            "get_callback_calls": self.get_callback_calls,
            "query_status_calls": self.query_status_calls,
            "applied": self.applied,
            "ended": dict(self.ended),
            "rescheduled": self.rescheduled,
            "sms_ids_found": self.sms_ids_found,
            "resends_queued": self.resends_queued,
            "answers": self.answers,
            "query_failures": self.query_failures,
            "store_errors": self.store_errors,
            "stopped_early": self.stopped_early,
        }

    @property
    def esms_unreachable(self) -> bool | None:
        """Every question this run put to eSMS's status endpoints failed (None: it asked none)."""
        if not self.answers and not self.query_failures:
            return None
        return not self.answers
