"""The soak: thousands of messages through the embedded stack under everything that goes wrong at
once, then the figures that must be zero.

Faults: 20% of sends fail transiently (5xx, answers lost after the sender's timeout, dropped
connections), eSMS's TPS limit sits below the offered rate, eSMS is down (every send 503) for a stretch
in the middle, 5% of messages are published twice (half of those at the same moment), a share of
invocations is killed at every crash point of a send, and callbacks come twice, out of order, early,
or never. Half the messages to numbers with no Zalo account or an inactive user ask for an SMS
fallback, which must go out exactly once for each that ends FAILED. Zalo's rules refuse some for now:
the soak runs in Vietnam's evening, when Zalo refuses its service review template (-133), and the OA's
daily quota runs out before the last messages (-144); once only those deferred messages are left, the
night passes (local/scenarios/night.py) and each must be delivered, once. The stack runs with the local
stack's scaled timeouts (local/stack.py: the sender's, the queues' visibility), a retry window longer
than the outage, and the relations between them that local/timings.py checks.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.esms_sim import SimulatorConfig
from local.scenarios.crashes import CrashPoint
from local.scenarios.night import Nights, vietnam_evening
from local.scenarios.soak_report import FOR_NOW, SoakResult
from local.stack import LocalStack, StackInfo
from zns_relay.models.fallback import sms_request_id
from zns_relay.models.state import FINAL_STATUSES

FALLBACK = {"Content": "Ma OTP cua ban la {otp}", "Brandname": "Baotrixemay"}
TEMPLATE, NIGHT_TEMPLATE = "2056446", "267247"  # the simulator's; the second refused at night
REVIEW = {"customer_name": "Soak", "product_name": "Máy lọc nước", "order_code": "DH1", "date": "07/12/2026"}


@dataclass(frozen=True)
class SoakPlan:
    messages: int = 5000
    tps_limit: float = 20.0  # eSMS's limit, below what the senders can offer
    outage_seconds: float = 300.0
    outage_after_messages: int = 2000  # the outage starts once this many messages are final
    crash_probability: float = 0.0015  # per message and crash point: about 2% of invocations
    duplicate_share: float = 0.05
    seed: int = 17
    timeout_seconds: float = 2400.0  # give up waiting for the end after this long
    # A report this long overdue ends UNKNOWN (72 hours deployed): past the outage, which takes eSMS's
    # status endpoints down too, with room for a reconciler slowed by a machine the soak saturates.
    unknown_after_seconds: float = 480.0
    night_share: float = 0.03  # messages of the night-restricted template, deferred to the morning
    daily_quota: int = 4700  # the OA's: the last few hundred messages of the evening are over it

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
            night_restricted_templates=(NIGHT_TEMPLATE,),
            daily_quota=self.daily_quota,
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
            "TempID": TEMPLATE,
            "TempData": {"otp": f"{rng.randrange(10**6):06d}", "customer_name": "Soak"},
            "RequestId": f"soak-{index:05d}",
            "campaignid": "soak",
        }
        if not suffix and rng.random() < plan.night_share:  # a review: no OTP, no fallback
            body.update(TempID=NIGHT_TEMPLATE, TempData=REVIEW)
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
    vietnam_evening(stack.simulator)
    nights = Nights(stack.simulator, info)
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
        waiting = {request_id for request_id in request_ids if statuses.get(request_id) not in FINAL_STATUSES}
        deferred = {request_id for request_id in waiting if statuses.get(request_id) == "DEFERRED"}
        settled = not publisher.is_alive() and (outage_over or outage_started is None) and not sms_pending
        if settled and deferred == waiting and (due := nights.pass_for(deferred)):
            progress(f"[{time.monotonic() - started:6.1f}s] the night passes: {due} deferred messages due")
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
        nights=nights.crossed,
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


def producer_request_id(esms_request_id: str) -> str:
    """The producer's RequestId of an attempt eSMS got (zns_relay.models.zalo_rules.attempt_request_id)."""
    return re.sub(r"\.z\d+$", "", esms_request_id)


def _result(
    stack: LocalStack,
    *,
    published: int,
    request_ids: set[str],
    fallbacks: dict[str, str],
    seconds: float,
    nights: int,
) -> SoakResult:
    assert stack.info is not None
    info = stack.info
    statuses = info.statuses()
    sends = stack.simulator.requests("zns_send")
    every_send = sends + stack.simulator.requests("sms_send")
    ours = request_ids | set(fallbacks.values())
    attempts = [
        (producer_request_id(str(record["request_id"])), str(record["outcome"]))
        for record in every_send
        if record.get("outcome") and producer_request_id(str(record.get("request_id"))) in ours
    ]
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
        outcomes=dict(attempts),
        refused_for_now={request_id for request_id, outcome in attempts if outcome in FOR_NOW},
        delivered_attempts=Counter(request_id for request_id, outcome in attempts if outcome == "delivered"),
        sends=len(sends),
        send_times=sorted(datetime.fromisoformat(record["received_at"]) for record in every_send),
        tps_limit=stack.simulator.config.tps_limit or 0.0,
        throttled=sum(1 for record in sends if record.get("code_result") == "160"),
        dlq_depth=int(dlq["Attributes"]["ApproximateNumberOfMessages"]),
        crashes=len(stack.crashes.fired()),
        invocations=sum(source.stats.invocations for source in stack.event_sources),
        seconds=seconds,
        nights=nights,
    )


def soak_stack(plan: SoakPlan, **options: Any) -> LocalStack:
    return LocalStack(
        simulator_config=plan.simulator(), function_overrides=plan.function_overrides(), **options
    )
