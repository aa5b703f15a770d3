"""The demo: a realistic mix of messages through the embedded stack, each checked against its expected end."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from local.esms_sim import SimulatorConfig
from local.scenarios.night import Nights, vietnam_evening
from local.stack import LocalStack, StackInfo, history_lines
from local.timings import Timings
from zns_relay.models.fallback import sms_request_id
from zns_relay.models.state import FINAL_STATUSES

UNKNOWN_TEMPLATE = "99999"
FALLBACK_KIND = ", SMS fallback"
TEMPLATE_ID = "2056446"
# Zalo's rules the demo meets: its evening is the simulator's 23:00 Vietnam time, when Zalo refuses the
# service review template (-133); the registration template may go out five times a day (-147). The messages
# they defer are sent again once the night passes (local/scenarios/night.py).
NIGHT_TEMPLATE = "267247"
LIMITED_TEMPLATE, LIMITED_PER_DAY = "205644", 5
NIGHT_KIND = "night window: deferred, sent in the morning"
LIMIT_KIND = "template's daily limit: deferred to the next day"
FAILING_SUFFIXES = {"114": "failed_114", "118": "failed_118"}
# What Zalo's code in each failed report means (zalo-zns-rules.md; -114's text is the one eSMS's own
# callback sample carries: "User is inactive, or reject the message, or using an outdated Zalo version").
ZALO_FAILURES = {
    "114": "inactive user, message refused or Zalo outdated (-114)",
    "118": "no Zalo account (-118)",
}
NO_REPORT_SUFFIX = "777"  # eSMS accepts these but never learns their outcome: they end UNKNOWN
SUFFIX_OUTCOMES = {**FAILING_SUFFIXES, NO_REPORT_SUFFIX: "no_report"}
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Hoàng Minh Đức", "Vũ Thị Hà"]
PREFIXES = ["090", "091", "093", "094", "096", "097", "098", "032", "035", "070", "077", "081", "086", "088"]

# Faults a real day brings: latency, a few 5xx, timeouts and dropped connections, eSMS's TPS limit (the
# demo's busiest seconds send about 20, so a few sends hear 160), callbacks that come twice, out of
# order, before the send's answer, or never (the reconciler asks eSMS for those reports).
DEMO_FAULTS = SimulatorConfig(
    seed=7,
    latency_ms=(15, 60),
    error_rate_5xx=0.03,
    timeout_rate=0.01,
    drop_rate=0.01,
    tps_limit=15,
    tps_burst=10,
    timeout_sleep_seconds=3,
    suffix_outcomes=SUFFIX_OUTCOMES,
    callback_loss_rate=0.1,
    sent_first=0.5,
    duplicate_callbacks=0.1,
    reorder=0.1,
    early_callbacks=0.05,
    early_callback_wait_seconds=1,
    night_restricted_templates=(NIGHT_TEMPLATE,),
    template_daily_limits={LIMITED_TEMPLATE: LIMITED_PER_DAY},
)


@dataclass(frozen=True)
class DemoMessage:
    body: dict[str, Any]
    expected: str  # the status this input must end in
    kind: str
    published: bool = True  # False: a message the relay makes (an SMS fallback), expected only

    @property
    def request_id(self) -> str:
        return str(self.body["RequestId"])


def build_mix(count: int, seed: int = 11) -> list[DemoMessage]:
    """About `count` messages: mostly deliverable, some invalid, some to failing numbers, some repeated."""
    rng = random.Random(seed)
    messages: list[DemoMessage] = []
    for index in range(count):
        roll = rng.random()
        request_id = f"demo-{index:04d}"
        body: dict[str, Any] = {
            "Phone": _phone(rng),
            "TempID": TEMPLATE_ID,
            "TempData": {"customer_name": rng.choice(NAMES), "order_code": f"DH{240000 + index}"},
            "RequestId": request_id,
            "campaignid": "demo",
        }
        make = next((kind for share, kind in _MIX if roll < share), _deliverable)
        messages += make(body, rng)
    repeats = [rng.choice([m for m in messages if m.published]) for _ in range(max(1, count // 15))]
    return messages + [
        DemoMessage(message.body, message.expected, "repeated RequestId") for message in repeats
    ]


def _failing(body: dict[str, Any], rng: random.Random) -> list[DemoMessage]:
    suffix = rng.choice(sorted(FAILING_SUFFIXES))
    body["Phone"] = _phone(rng, suffix=suffix)
    return [DemoMessage(body, "FAILED", ZALO_FAILURES[suffix])]


def _unknown_template(body: dict[str, Any], _rng: random.Random) -> list[DemoMessage]:
    body["TempID"] = UNKNOWN_TEMPLATE
    return [DemoMessage(body, "FAILED", "template not configured (789)")]


def _invalid(body: dict[str, Any], rng: random.Random) -> list[DemoMessage]:
    body.update(rng.choice(_INVALID_CHANGES))
    return [DemoMessage(body, "REJECTED", "breaks the contract")]


def _sandbox(body: dict[str, Any], _rng: random.Random) -> list[DemoMessage]:
    body["Sandbox"] = "1"
    return [DemoMessage(body, "ACCEPTED", "sandbox")]


def _never_reported(body: dict[str, Any], rng: random.Random) -> list[DemoMessage]:
    body["Phone"] = _phone(rng, suffix=NO_REPORT_SUFFIX)
    return [DemoMessage(body, "UNKNOWN", "no delivery report ever")]


def _expired(body: dict[str, Any], _rng: random.Random) -> list[DemoMessage]:
    body["ValidUntil"] = "2026-01-01T08:00:00+07:00"
    return [DemoMessage(body, "EXPIRED", "validity already passed")]


def _failing_with_fallback(body: dict[str, Any], rng: random.Random) -> list[DemoMessage]:
    suffix = rng.choice(sorted(FAILING_SUFFIXES))
    body["Phone"] = _phone(rng, suffix=suffix)
    body["Fallback"] = {
        "Content": "Don hang {order_code} cua {customer_name} da xac nhan",
        "Brandname": "Baotrixemay",
    }
    sms = {"RequestId": sms_request_id(body["RequestId"])}
    return [
        DemoMessage(body, "FAILED", f"{ZALO_FAILURES[suffix]}{FALLBACK_KIND}"),
        DemoMessage(sms, "DELIVERED", "the SMS sent instead", published=False),
    ]


def _at_night(body: dict[str, Any], _rng: random.Random) -> list[DemoMessage]:
    body["TempID"] = NIGHT_TEMPLATE
    body["TempData"] = {**body["TempData"], "product_name": "Máy lọc nước", "date": "07/12/2026"}
    return [DemoMessage(body, "DELIVERED", NIGHT_KIND)]


def _over_the_daily_limit(body: dict[str, Any], rng: random.Random) -> list[DemoMessage]:
    body["TempID"] = LIMITED_TEMPLATE
    body["TempData"] = {"otp": f"{rng.randrange(10**6):06d}"}
    return [DemoMessage(body, "DELIVERED", LIMIT_KIND)]


def _deliverable(body: dict[str, Any], rng: random.Random) -> list[DemoMessage]:
    if rng.random() < 0.5:
        body["TempData"] = [{"key": key, "value": value} for key, value in body["TempData"].items()]
    return [DemoMessage(body, "DELIVERED", "deliverable")]


# Each kind's share of the mix, as the upper bound of its band of a draw in [0, 1); the rest deliverable.
_MIX: list[tuple[float, Callable[[dict[str, Any], random.Random], list[DemoMessage]]]] = [
    (0.08, _failing),
    (0.11, _unknown_template),
    (0.19, _invalid),
    (0.23, _sandbox),
    (0.25, _never_reported),
    (0.27, _expired),
    (0.31, _failing_with_fallback),
    (0.33, _at_night),
    (0.35, _over_the_daily_limit),
]


_INVALID_CHANGES: list[dict[str, Any]] = [
    {"Phone": "0090188848"},
    {"TempData": {}},
    {"SendDate": "2026-02-30 08:00:00"},
    {"SendingMode": "3", "SendDate": "2026-12-01 08:00:00"},
    {"ApiKey": "should-not-be-here"},
    {"SendDate": "2030-01-01 08:00:00", "ValidUntil": "2030-01-01T07:59:59+07:00"},
]


def _phone(rng: random.Random, suffix: str = "") -> str:
    while True:
        digits = rng.choice(PREFIXES) + "".join(rng.choice("0123456789") for _ in range(7))
        number = digits[: len(digits) - len(suffix)] + suffix
        if suffix or not any(number.endswith(special) for special in SUFFIX_OUTCOMES):
            return rng.choice([number, "84" + number[1:], f"+84 {number[1:3]} {number[3:6]} {number[6:]}"])


def publish(info: StackInfo, messages: list[DemoMessage]) -> None:
    """The messages a producer publishes (not the SMS fallbacks the relay makes of some)."""
    info.publish([message.body for message in messages if message.published])


@dataclass
class DemoResult:
    expected: dict[str, str]
    kinds: dict[str, str]  # RequestId -> the demo kind it was built as
    actual: dict[str, str]
    accepted_by_esms: dict[str, int]
    dlq_depth: int
    seconds: float

    @property
    def mismatches(self) -> dict[str, tuple[str, str | None]]:
        return {
            request_id: (expected, self.actual.get(request_id))
            for request_id, expected in self.expected.items()
            if self.actual.get(request_id) != expected
        }

    @property
    def sent_twice(self) -> dict[str, int]:
        return {request_id: count for request_id, count in self.accepted_by_esms.items() if count > 1}

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.sent_twice and self.dlq_depth == 0


def run_demo(
    stack: LocalStack, count: int, timeout_seconds: float, progress: Callable[[str], None] = lambda line: None
) -> DemoResult:
    """Publish the mix, wait until every message has reached its expected state (or the timeout)."""
    assert stack.info is not None
    info = stack.info
    messages = build_mix(count)
    expected = {message.request_id: message.expected for message in messages}
    vietnam_evening(stack.simulator)  # Zalo's night: its night-restricted template is refused
    nights = Nights(stack.simulator, info)
    started = time.monotonic()
    publish(info, messages)
    published = [message for message in messages if message.published]
    progress(
        f"published {len(published)} messages ({len({m.request_id for m in published})} RequestIds)"
        f" to {info.queue_url}; {len(messages) - len(published)} SMS fallbacks expected"
    )
    actual: dict[str, str] = {}
    last_report = 0.0
    told_of_unknown = False
    while time.monotonic() - started < timeout_seconds:
        actual = info.statuses()
        unsettled = {
            request_id
            for request_id, status in expected.items()
            if actual.get(request_id) != status and actual.get(request_id) not in FINAL_STATUSES
        }
        if time.monotonic() - last_report >= 1 or not unsettled:
            last_report = time.monotonic()
            counts = Counter(actual.values())
            summary = "  ".join(f"{status} {counts[status]}" for status in sorted(counts))
            progress(f"[{time.monotonic() - started:5.1f}s] {summary}")
        if not unsettled:
            break
        deferred = {request_id for request_id in unsettled if actual.get(request_id) == "DEFERRED"}
        only_deferred = all(r in deferred or expected[r] == "UNKNOWN" for r in unsettled)
        if only_deferred and (due := nights.pass_for(deferred)):
            progress(f"the night passes: {due} deferred messages are due again")
        if not told_of_unknown and all(expected[request_id] == "UNKNOWN" for request_id in unsettled):
            told_of_unknown = True
            progress(unknown_wait_note(len(unsettled), stack.timings))
        time.sleep(0.3)
    stack.simulator.wait_for_callbacks_idle(5)
    actual = info.statuses()
    dlq = info.client("sqs").get_queue_attributes(
        QueueUrl=info.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return DemoResult(
        expected=expected,
        kinds={
            message.request_id: message.kind for message in messages if message.kind != "repeated RequestId"
        },
        actual=actual,
        accepted_by_esms=stack.simulator.accepted_count_by_request_id(),
        dlq_depth=int(dlq["Attributes"]["ApproximateNumberOfMessages"]),
        seconds=time.monotonic() - started,
    )


def unknown_wait_note(waiting: int, timings: Timings) -> str:
    """Why the demo waits, once only the messages eSMS never reports on are left."""
    latest = timings.unknown_after + timings.recheck + timings.reconcile_every
    return (
        f"waiting for the last {waiting} message{'s' if waiting != 1 else ''}, accepted by eSMS but never"
        f" reported on: each ends UNKNOWN when no report came within {timings.unknown_after:g} s of"
        f" acceptance (UnknownAfterHours, scaled down here) and eSMS, asked, has none: up to {latest:g} s"
        " after its acceptance"
    )


def report(stack: LocalStack, result: DemoResult, out: TextIO) -> None:
    """The table of counts, the simulator's view, and a few message histories."""
    assert stack.info is not None
    expected, actual = Counter(result.expected.values()), Counter(result.actual.values())
    out.write(f"\n{'status':<10} {'expected':>8} {'actual':>8}\n")
    for status in sorted(set(expected) | set(actual)):
        out.write(f"{status:<10} {expected[status]:>8} {actual[status]:>8}\n")
    requests = stack.simulator.requests("zns_send")
    answers = Counter(str(request.get("code_result") or request.get("fault") or "?") for request in requests)
    sms = stack.simulator.requests("sms_send")
    out.write(
        f"\neSMS simulator: {len(requests)} ZNS send requests, answers {dict(sorted(answers.items()))}; "
        f"{len(sms)} SMS send requests; {len(stack.simulator.callbacks())} callbacks\n"
        f"SQS event source: {_poller_summary(stack)}\n"
        f"reconciler: {_reconciler_summary(stack)}\n"
        f"RequestIds accepted by eSMS more than once: {len(result.sent_twice)}; "
        f"messages in the DLQ: {result.dlq_depth}\n"
    )
    for label, kind in _SHOWN_KINDS:
        _print_history(stack.info, result, label, kind, out)
    if result.mismatches:
        out.write(f"\n{len(result.mismatches)} messages did not reach their expected state:\n")
        for request_id, (want, got) in sorted(result.mismatches.items())[:20]:
            out.write(f"  {request_id}: expected {want}, got {got}\n")
    verdict = "every message reached the state its input calls for" if result.ok else "FAILED"
    out.write(f"\n{verdict} ({len(result.expected)} messages, {result.seconds:.1f}s)\n")


def _poller_summary(stack: LocalStack) -> str:
    stats = [source.stats for source in stack.event_sources]
    return (
        f"{sum(s.invocations for s in stats)} invocations, {sum(s.records for s in stats)} records,"
        f" {sum(s.deleted for s in stats)} deleted, {sum(s.failed for s in stats)} handed back to the queue,"
        f" {sum(s.errors for s in stats)} invocation errors"
    )


def _reconciler_summary(stack: LocalStack) -> str:
    runs = sum(
        schedule.invocations for schedule in stack.schedules if schedule.logical_id == "ReconcilerFunction"
    )
    recovered = [
        callback
        for callback in stack.simulator.requests("get_callback")
        if callback.get("code_result") == "100"
    ]
    return f"{runs} runs, {len(recovered)} GetCallback answers"


def _print_history(info: StackInfo, result: DemoResult, label: str, kind: str, out: TextIO) -> None:
    """The first message of the demo kind, with its history (and its SMS fallback's, when it has one);
    "recovered" picks a delivered message whose report the reconciler got."""
    recovered = label == "callback lost, report recovered"
    for request_id in sorted(r for r, each in result.kinds.items() if each == kind):
        message = info.message(request_id)
        if message is None or message.get("status") != result.expected[request_id]:
            continue
        sources = {(entry.get("data") or {}).get("source") for entry in message.get("history", [])}
        if recovered != bool(sources & {"GetCallback", "QueryZnsStatus"}):
            continue
        out.write(f"\n{request_id} ({label}):\n")
        out.writelines(f"  {line}\n" for line in history_lines(message))
        sms = info.message(message["fallback_request_id"]) if message.get("fallback_request_id") else None
        if sms is not None:
            out.write(f"\n{sms['request_id']} (the SMS sent instead):\n")
            out.writelines(f"  {line}\n" for line in history_lines(sms))
        return


# (what the history shows, the demo kind it is taken from)
_SHOWN_KINDS = [
    ("deliverable", "deliverable"),
    ("callback lost, report recovered", "deliverable"),
    (ZALO_FAILURES["114"], ZALO_FAILURES["114"]),
    (f"{ZALO_FAILURES['118']}, so an SMS instead", ZALO_FAILURES["118"] + FALLBACK_KIND),
    ("no delivery report ever", "no delivery report ever"),
    ("breaks the contract", "breaks the contract"),
    (NIGHT_KIND, NIGHT_KIND),
]
