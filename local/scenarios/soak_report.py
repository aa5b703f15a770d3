"""What the soak found: its figures, those that must be zero, and the report `make soak` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from zns_relay.models.state import FINAL_STATUSES

FAILED_OUTCOMES = {"failed_108", "failed_114", "failed_118", "failed_1001", "failed"}  # ZNS's, SMS's
# Zalo's refusals for now (the night window, the OA's and the template's daily quotas): the message is
# deferred, and a later attempt (under <RequestId>.z2, ...) decides its outcome.
FOR_NOW = {"refused_133", "refused_144", "refused_147"}


@dataclass
class SoakResult:
    published: int
    request_ids: set[str]
    fallbacks: dict[str, str]  # RequestId of a message that asked for an SMS fallback -> the SMS's
    statuses: dict[str, str]  # of the messages and of their SMS fallbacks
    accepted_by_esms: dict[str, int]
    # RequestId -> the simulator's delivery outcome of its last attempt eSMS accepted (both channels)
    outcomes: dict[str, str]
    refused_for_now: set[str]  # RequestIds an attempt of which Zalo refused for now (FOR_NOW)
    delivered_attempts: dict[str, int]  # RequestId -> how many of its attempts were delivered
    sends: int
    send_times: list[datetime]  # when eSMS received each send request (ZNS and SMS)
    tps_limit: float
    throttled: int
    dlq_depth: int
    crashes: int
    invocations: int
    seconds: float
    nights: int = 0  # nights crossed for the deferred messages
    log: list[str] = field(default_factory=list)

    @property
    def sent_twice(self) -> dict[str, int]:
        return {request_id: count for request_id, count in self.accepted_by_esms.items() if count > 1}

    @property
    def lost(self) -> set[str]:
        """Messages with no item, or not final."""
        return {
            request_id
            for request_id in self.request_ids
            if self.statuses.get(request_id) not in FINAL_STATUSES
        }

    @property
    def falsely_failed(self) -> set[str]:
        """FAILED or EXPIRED, although eSMS accepted them and did not report a failed delivery."""
        return {
            request_id
            for request_id, outcome in self.outcomes.items()
            if self.statuses.get(request_id) in {"FAILED", "EXPIRED"} and outcome not in FAILED_OUTCOMES
        }

    @property
    def falsely_unknown(self) -> set[str]:
        """UNKNOWN, although eSMS had a final report for them (it reports on all but "no_report")."""
        return {
            request_id
            for request_id, outcome in self.outcomes.items()
            if self.statuses.get(request_id) == "UNKNOWN" and outcome != "no_report"
        }

    @property
    def delivered_twice(self) -> set[str]:
        """Delivered by more than one attempt (a deferred message's resends have RequestIds of their own)."""
        return {request_id for request_id, count in self.delivered_attempts.items() if count > 1}

    @property
    def failed_for_now(self) -> set[str]:
        """FAILED or EXPIRED on Zalo's refusal for now (their last attempt's): Zalo would have taken them
        later. One whose later attempt Zalo took, and reported failed (a -114 number), is not."""
        return {
            request_id
            for request_id in self.refused_for_now
            if self.statuses.get(request_id) in {"FAILED", "EXPIRED"}
            and self.outcomes.get(request_id) in FOR_NOW
        }

    @property
    def sms_expected(self) -> set[str]:
        """Messages that asked for an SMS fallback and ended FAILED (the soak's only triggers)."""
        return {request_id for request_id in self.fallbacks if self.statuses.get(request_id) == "FAILED"}

    @property
    def sms_missing(self) -> set[str]:
        """Messages whose SMS eSMS did not accept exactly once, or whose SMS is not final."""
        return {
            request_id
            for request_id in self.sms_expected
            if self.accepted_by_esms.get(self.fallbacks[request_id]) != 1
            or self.statuses.get(self.fallbacks[request_id]) not in FINAL_STATUSES
        }

    @property
    def sms_unasked(self) -> set[str]:
        """Messages that did not end FAILED, yet an SMS went out for them."""
        return {
            request_id
            for request_id, sms in self.fallbacks.items()
            if request_id not in self.sms_expected and self.accepted_by_esms.get(sms)
        }

    @property
    def ok(self) -> bool:
        problems = (
            self.sent_twice,
            self.delivered_twice,
            self.lost,
            self.failed_for_now,
            self.falsely_failed,
            self.falsely_unknown,
            self.sms_missing,
            self.sms_unasked,
        )
        return not any(problems)


def report(result: SoakResult, out: TextIO) -> None:
    counts = Counter(
        result.statuses[request_id] for request_id in result.request_ids if request_id in result.statuses
    )
    sms_counts = Counter(result.statuses.get(sms, "(none)") for sms in result.fallbacks.values())
    sms_states = "  ".join(f"{status} {n}" for status, n in sorted(sms_counts.items()))
    throttled = f"{result.throttled} of {result.sends} ({_share(result.throttled, result.sends)})"
    crashed = f"{result.crashes} of {result.invocations} ({_share(result.crashes, result.invocations)})"
    rows = [
        ("messages published", f"{result.published} ({len(result.request_ids)} RequestIds)"),
        ("RequestIds accepted by eSMS more than once", f"{len(result.sent_twice)}  (must be 0)"),
        ("messages lost (no item, or not final)", f"{len(result.lost)}  (must be 0)"),
        ("messages FAILED although eSMS accepted them", f"{len(result.falsely_failed)}  (must be 0)"),
        ("messages UNKNOWN although eSMS reported", f"{len(result.falsely_unknown)}  (must be 0)"),
        ("messages refused for now (night, quota)", _deferred_outcomes(result)),
        ("... FAILED, though Zalo would take them", f"{len(result.failed_for_now)}  (must be 0)"),
        ("messages delivered by two attempts", f"{len(result.delivered_twice)}  (must be 0)"),
        ("nights crossed", str(result.nights)),
        ("final states", "  ".join(f"{status} {n}" for status, n in sorted(counts.items()))),
        (
            "SMS fallbacks asked for / due (ZNS FAILED)",
            f"{len(result.fallbacks)} / {len(result.sms_expected)}",
        ),
        ("SMS fallbacks not sent exactly once", f"{len(result.sms_missing)}  (must be 0)"),
        ("SMS sent for a message that did not fail", f"{len(result.sms_unasked)}  (must be 0)"),
        ("SMS final states", sms_states),
        ("sends answered 160", throttled),
        ("send rate to eSMS (ZNS and SMS)", _send_rate(result)),
        ("invocations killed at a crash point", crashed),
        ("messages in the DLQ", str(result.dlq_depth)),
        ("wall time", f"{result.seconds:.0f} s"),
    ]
    out.write("".join(f"{label:<44}{value}\n" for label, value in rows))
    problems = (
        ("accepted twice", result.sent_twice),
        ("delivered twice", result.delivered_twice),
        ("failed for now", result.failed_for_now),
        ("lost", result.lost),
        ("falsely failed", result.falsely_failed),
        ("falsely unknown", result.falsely_unknown),
        ("SMS fallback missing", result.sms_missing),
        ("SMS fallback unasked", result.sms_unasked),
    )
    for name, found in problems:
        if found:
            out.write(f"{name}: {sorted(found)[:20]}\n")
    out.write(("soak passed" if result.ok else "soak FAILED") + "\n")


def _deferred_outcomes(result: SoakResult) -> str:
    ends = Counter(result.statuses.get(request_id, "(none)") for request_id in result.refused_for_now)
    return f"{len(result.refused_for_now)}, now " + "  ".join(f"{s} {n}" for s, n in sorted(ends.items()))


def _send_rate(result: SoakResult) -> str:
    """The rate the senders achieved against the TPS limit: on average while they sent, and in their
    busiest second."""
    times = result.send_times
    if len(times) < 2:
        return "n/a"
    seconds = (times[-1] - times[0]).total_seconds()
    busiest = max(Counter(moment.replace(microsecond=0) for moment in times).values())
    return (
        f"{len(times) / seconds:.1f} a second on average over {seconds:.0f} s, {busiest} in the busiest"
        f" second (TPS limit {result.tps_limit:g})"
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"
