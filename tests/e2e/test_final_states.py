"""Every message ends in a known final state, through the embedded stack: lost callbacks, sends answered
after the sender's read timeout, 5xx, and messages eSMS never reports on."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from local.esms_sim import SimulatorConfig
from local.stack import LocalStack
from tests.support.waiting import wait_for
from zns_relay.models.state import FINAL_STATUSES

pytestmark = pytest.mark.e2e
NO_REPORT_SUFFIX = "777"
FAILING_SUFFIX = "118"
FAULTS = SimulatorConfig(
    seed=3,
    latency_ms=(10, 40),
    callback_loss_rate=0.2,  # eSMS keeps the report, but its callback never reaches us
    timeout_rate=0.1,  # accepted, but answered after the sender's read timeout (2 s locally)
    timeout_sleep_seconds=3,
    error_rate_5xx=0.1,
    suffix_outcomes={NO_REPORT_SUFFIX: "no_report", FAILING_SUFFIX: "failed_118"},
    sent_first=0.5,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The functions' lines to a file: on stderr they reached pytest's progress between two tests
    log = tmp_path_factory.mktemp("final-states") / "functions.log"
    with LocalStack(simulator_config=FAULTS, function_output=log) as running:
        yield running


def phone(rng: random.Random, suffix: str = "") -> str:
    while True:
        number = "09" + "".join(rng.choice("0123456789") for _ in range(8))
        number = number[: len(number) - len(suffix)] + suffix
        if suffix or not number.endswith((NO_REPORT_SUFFIX, FAILING_SUFFIX)):
            return number


def test_with_callbacks_lost_and_sends_timing_out_every_message_ends_final_and_true(
    stack: LocalStack,
) -> None:
    # Given messages mostly deliverable, some to a number with no Zalo account, some eSMS never reports
    # on, and one whose validity has passed; with 20% of callbacks lost, 10% of sends answered after
    # the read timeout and 10% failing with 5xx
    assert stack.info is not None
    rng = random.Random(5)
    bodies: list[dict[str, Any]] = []
    for index in range(120):
        suffix = NO_REPORT_SUFFIX if index % 20 == 1 else FAILING_SUFFIX if index % 20 == 2 else ""
        bodies.append(
            {
                "Phone": phone(rng, suffix),
                "TempID": "2056446",
                "TempData": {"otp": str(index)},
                "RequestId": f"final-{index}",
            }
        )
    bodies.append({**bodies[0], "RequestId": "final-expired", "ValidUntil": "2026-01-01T00:00:00+07:00"})
    expected_ids = {body["RequestId"] for body in bodies}

    # When they flow through the stack, the reconciler running on its (local) schedule
    info = stack.info
    info.publish(bodies)

    def all_final() -> dict[str, str] | None:
        found = {
            request_id: status for request_id, status in info.statuses().items() if request_id in expected_ids
        }
        return found if set(found) == expected_ids and set(found.values()) <= FINAL_STATUSES else None

    statuses = wait_for(all_final, timeout=240)

    # Then every message is final, none was accepted twice, and the outcome matches what eSMS knows
    assert statuses is not None, Counter(info.statuses().values())
    accepted = stack.simulator.accepted_count_by_request_id()
    assert {request_id: count for request_id, count in accepted.items() if count > 1} == {}
    outcomes = {
        record["request_id"]: record["outcome"]
        for record in stack.simulator.requests("zns_send")
        if record.get("outcome") and record.get("request_id") in expected_ids
    }
    expected = {"delivered": "DELIVERED", "no_report": "UNKNOWN", "failed_118": "FAILED"}
    assert {request_id: statuses[request_id] for request_id in outcomes} == {
        request_id: expected[outcome] for request_id, outcome in outcomes.items()
    }
    assert statuses["final-expired"] == "EXPIRED"
    # And the lost callbacks were really lost (the reconciler, not a callback, brought those reports)
    stats = stack.simulator.stats()
    assert stats["callbacks"]["lost"] > 0
    assert stats["requests"]["get_callback"] > 0
    # And the reconciler kept within eSMS's documented limits
    assert set(stats["limit_violations"].values()) == {0}
