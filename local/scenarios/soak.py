"""The soak: thousands of messages through the embedded stack under everything that goes wrong at
once, then the figures that must be zero.

Faults: 20% of sends fail transiently (5xx, answers lost after the sender's timeout, dropped
connections), eSMS's TPS limit sits below the offered rate, eSMS is down (every send 503) for a stretch
in the middle, 5% of messages are published twice (half of those at the same moment), a share of
invocations is killed at every crash point of a send, and callbacks come twice, out of order, early,
or never. Half the messages to numbers with no Zalo account or an inactive user ask for an SMS
fallback, which must go out exactly once for each that ends FAILED. The stack runs with the local
stack's scaled timeouts (local/stack.py: the sender's, the queues' visibility), a retry window longer
than the outage, and the relations between them that local/timings.py checks.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from local.esms_sim import SimulatorConfig
from local.scenarios.crashes import CrashPoint
from local.stack import LocalStack, StackInfo
from zns_relay.models.fallback import sms_request_id
from zns_relay.models.state import FINAL_STATUSES

FAILED_OUTCOMES = {"failed_108", "failed_114", "failed_118", "failed_1001", "failed"}  # ZNS's, SMS's
FALLBACK = {"Content": "Ma OTP cua ban la {otp}", "Brandname": "Baotrixemay"}


@dataclass(frozen=True)
class SoakPlan:
    messages: int = 5000
    tps_limit: float = 20.0  # eSMS's limit, below what the senders can offer
    outage_seconds: float = 300.0
    outage_after_messages: int = 2000  # the outage starts once this many messages are final
    crash_probability: float = 0.0015  # per message and crash point: about 2% of invocations
    duplicate_share: float = 0.05
    seed: int = 17
    timeout_seconds: float = 1500.0  # give up waiting for the end after this long
    # A report this long overdue ends UNKNOWN (72 hours deployed): past the outage, which takes eSMS's
    # status endpoints down too, with room for a reconciler slowed by a machine the soak saturates.
    unknown_after_seconds: float = 480.0

    def simulator(self) -> SimulatorConfig:
        return SimulatorConfig(
            seed=self.seed,
            latency_ms=(10, 60),
            error_rate_5xx=0.10,
            timeout_rate=0.05,
            timeout_sleep_seconds=3,
            drop_rate=0.05,
            tps_limit=self.tps_limit,
            tps_burst=int(self.tps_limit),
            suffix_outcomes={"114": "failed_114", "118": "failed_118", "777": "no_report"},
            sent_first=0.5,
            reorder=0.2,
            duplicate_callbacks=0.1,
            early_callbacks=0.05,
            early_callback_wait_seconds=1,
            callback_loss_rate=0.1,
        )

    @property
    def retry_window_seconds(self) -> float:
        """Well past the outage (deployed: hours against an outage of minutes)."""
        return self.outage_seconds * 3 + 300

    def function_overrides(self) -> dict[str, str]:
        """The retry window, and UNKNOWN only after the outage (deployed, 72 hours against minutes). The
        longest retry delay is 10 s (15 min deployed), so that a window failing on every receive stays
        within the queue's maxReceiveCount, as deployed. The UNKNOWN cap (eSMS's 7-day memory) lies past
        the window and the deadline, as deployed: only eSMS's word ends a message UNKNOWN here."""
        cap = self.retry_window_seconds + self.unknown_after_seconds
        return {
            "RETRY_WINDOW_HOURS": f"{self.retry_window_seconds / 3600:.6f}",
            "RETRY_MAX_SECONDS": "10",
            "UNKNOWN_AFTER_HOURS": f"{self.unknown_after_seconds / 3600:.6f}",
            "UNKNOWN_CAP_HOURS": f"{cap / 3600:.6f}",
            "ESMS_RATE_LIMIT": f"{self.tps_limit * 2:g}",
        }


@dataclass
class SoakResult:
    published: int
    request_ids: set[str]
    fallbacks: dict[str, str]  # RequestId of a message that asked for an SMS fallback -> the SMS's
    statuses: dict[str, str]  # of the messages and of their SMS fallbacks
    accepted_by_esms: dict[str, int]
    # RequestId -> the simulator's delivery outcome, for those it accepted (both channels)
    outcomes: dict[str, str]
    sends: int
    send_times: list[datetime]  # when eSMS received each send request (ZNS and SMS)
    tps_limit: float
    throttled: int
    dlq_depth: int
    crashes: int
    invocations: int
    seconds: float
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
            self.lost,
            self.falsely_failed,
            self.falsely_unknown,
            self.sms_missing,
            self.sms_unasked,
        )
        return not any(problems)


def build_bodies(plan: SoakPlan) -> list[dict[str, Any]]:
    rng = random.Random(plan.seed)
    bodies = []
    for index in range(plan.messages):
        suffix = rng.choices(["", "114", "118", "777"], weights=[90, 4, 4, 2])[0]
        digits = "09" + "".join(rng.choice("0123456789") for _ in range(8))
        if suffix:
            digits = digits[: -len(suffix)] + suffix
        elif digits.endswith(("114", "118", "777")):
            digits = digits[:-1] + "0"
        body: dict[str, Any] = {
            "Phone": digits,
            "TempID": "2056446",
            "TempData": {"otp": f"{rng.randrange(10**6):06d}", "customer_name": "Soak"},
            "RequestId": f"soak-{index:05d}",
            "campaignid": "soak",
        }
        if suffix in ("114", "118") and rng.random() < 0.5:
            body["Fallback"] = FALLBACK
        bodies.append(body)
    return bodies


def run_soak(
    stack: LocalStack, plan: SoakPlan, progress: Callable[[str], None] = lambda line: None
) -> SoakResult:
    """Publish, break things on schedule, wait until every message is final (or the timeout)."""
    assert stack.info is not None
    info = stack.info
    rng = random.Random(plan.seed + 1)
    for point in CrashPoint:
        stack.crashes.arm_random(point, plan.crash_probability, seed=plan.seed)
    bodies = build_bodies(plan)
    request_ids = {str(body["RequestId"]) for body in bodies}
    fallbacks = {
        str(body["RequestId"]): sms_request_id(str(body["RequestId"]))
        for body in bodies
        if "Fallback" in body
    }
    duplicates = rng.sample(bodies, int(len(bodies) * plan.duplicate_share))
    started = time.monotonic()
    publisher = threading.Thread(target=_publish, args=(info, bodies, duplicates, rng), daemon=True)
    publisher.start()
    progress(f"publishing {len(bodies)} messages and {len(duplicates)} duplicates to {info.queue_url}")

    outage_started: float | None = None
    outage_over = False
    statuses: dict[str, str] = {}
    last_report = 0.0
    while time.monotonic() - started < plan.timeout_seconds:
        statuses = info.statuses()
        final = sum(1 for request_id in request_ids if statuses.get(request_id) in FINAL_STATUSES)
        sms_pending = any(
            statuses.get(request_id) == "FAILED" and statuses.get(sms) not in FINAL_STATUSES
            for request_id, sms in fallbacks.items()
        )
        if outage_started is None and final >= plan.outage_after_messages:
            outage_started = time.monotonic()
            stack.simulator.configure(error_rate_5xx=1.0, timeout_rate=0.0, drop_rate=0.0)
            progress(f"[{time.monotonic() - started:6.1f}s] eSMS down for {plan.outage_seconds:.0f}s")
        if (
            outage_started is not None
            and not outage_over
            and time.monotonic() - outage_started >= plan.outage_seconds
        ):
            outage_over = True
            stack.simulator.configure(error_rate_5xx=0.10, timeout_rate=0.05, drop_rate=0.05)
            progress(f"[{time.monotonic() - started:6.1f}s] eSMS back")
        if time.monotonic() - last_report >= 10:
            last_report = time.monotonic()
            counts = Counter(statuses.get(request_id, "(none)") for request_id in request_ids)
            progress(
                f"[{time.monotonic() - started:6.1f}s] "
                + "  ".join(f"{s} {n}" for s, n in sorted(counts.items()))
            )
        if (
            final == len(request_ids)
            and not sms_pending
            and not publisher.is_alive()
            and (outage_over or outage_started is None)
        ):
            break
        time.sleep(1.0)
    publisher.join()
    return _result(
        stack,
        published=len(bodies) + len(duplicates),
        request_ids=request_ids,
        fallbacks=fallbacks,
        seconds=time.monotonic() - started,
    )


def _publish(
    info: StackInfo, bodies: list[dict[str, Any]], duplicates: list[dict[str, Any]], rng: random.Random
) -> None:
    """Every body once, in batches of ten; the duplicates later, half of them twice at the same moment."""
    twice_now = {id(body) for body in duplicates[: len(duplicates) // 2]}
    queue: list[dict[str, Any]] = []
    for body in bodies:
        queue.append(body)
        if id(body) in twice_now:
            queue.append(body)  # the same batch: two deliveries of one RequestId, concurrently
    later = duplicates[len(duplicates) // 2 :]
    rng.shuffle(later)
    info.publish(queue)
    info.publish(later)


def _result(
    stack: LocalStack, *, published: int, request_ids: set[str], fallbacks: dict[str, str], seconds: float
) -> SoakResult:
    assert stack.info is not None
    info = stack.info
    statuses = info.statuses()
    sends = stack.simulator.requests("zns_send")
    every_send = sends + stack.simulator.requests("sms_send")
    ours = request_ids | set(fallbacks.values())
    outcomes = {
        str(record["request_id"]): str(record["outcome"])
        for record in every_send
        if record.get("outcome") and record.get("request_id") in ours
    }
    dlq = info.client("sqs").get_queue_attributes(
        QueueUrl=info.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return SoakResult(
        published=published,
        request_ids=request_ids,
        fallbacks=fallbacks,
        statuses={
            request_id: statuses[request_id]
            for request_id in request_ids | set(fallbacks.values())
            if request_id in statuses
        },
        accepted_by_esms=stack.simulator.accepted_count_by_request_id(),
        outcomes=outcomes,
        sends=len(sends),
        send_times=sorted(datetime.fromisoformat(record["received_at"]) for record in every_send),
        tps_limit=stack.simulator.config.tps_limit or 0.0,
        throttled=sum(1 for record in sends if record.get("code_result") == "160"),
        dlq_depth=int(dlq["Attributes"]["ApproximateNumberOfMessages"]),
        crashes=len(stack.crashes.fired()),
        invocations=sum(source.stats.invocations for source in stack.event_sources),
        seconds=seconds,
    )


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


def soak_stack(plan: SoakPlan, **options: Any) -> LocalStack:
    return LocalStack(
        simulator_config=plan.simulator(), function_overrides=plan.function_overrides(), **options
    )
