"""Through the embedded stack: Zalo's night window and daily quota defer messages instead of failing
them, and a night later they are sent again, under RequestIds of their own, and delivered once each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.esms_sim import SimulatorConfig
from local.scenarios.night import cross_the_night, vietnam_evening
from local.stack import LocalStack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
NIGHT_TEMPLATE = "267247"  # the simulator's service review template, refused at night (-133)
DAY_TEMPLATE = "2056446"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log = tmp_path_factory.mktemp("deferrals") / "functions.log"
    rules = SimulatorConfig(night_restricted_templates=(NIGHT_TEMPLATE,))
    with LocalStack(simulator_config=rules, function_output=log) as running:
        yield running


def review(request_id: str) -> dict[str, Any]:
    data = {"customer_name": "Trần Thị Bình", "product_name": "Máy lọc nước", "order_code": "DH240117"}
    return {"Phone": "0901888484", "TempID": NIGHT_TEMPLATE, "TempData": {**data, "date": "07/12/2026"},
            "RequestId": request_id}  # fmt: skip


def order(request_id: str) -> dict[str, Any]:
    return {"Phone": "0912345678", "TempID": DAY_TEMPLATE, "TempData": {"order_code": "DH240118"},
            "RequestId": request_id}  # fmt: skip


def settle(stack: LocalStack, wanted: dict[str, set[str]]) -> dict[str, str]:
    """Wait until each RequestId is in one of its wanted statuses: the statuses then."""
    assert stack.info is not None
    info = stack.info

    def reached() -> dict[str, str] | None:
        found = info.statuses()
        return found if all(found.get(request_id) in want for request_id, want in wanted.items()) else None

    statuses = wait_for(reached, 90)
    assert statuses is not None, f"not settled: {info.statuses()}"
    return statuses


def test_a_night_and_a_quota_defer_messages_until_zalo_takes_them(stack: LocalStack) -> None:
    assert stack.info is not None
    info = stack.info
    simulator = stack.simulator

    # Given the evening in Vietnam: a review, whose template Zalo refuses at night, is DEFERRED
    vietnam_evening(simulator)
    info.publish([review("review-1")])
    settle(stack, {"review-1": {"DEFERRED"}})
    deferred = info.message("review-1") or {}
    assert deferred["deferrals"] == 1 and "sms_id" not in deferred
    assert "deferred, sent again from" in deferred["history"][-1]["detail"]
    assert "Zalo" not in str(deferred.get("sealed_temp_data", b"")) and "Bình" not in str(deferred)

    # When the night passes, it is sent again under its own RequestId and delivered
    assert cross_the_night(simulator, info) == 1
    settle(stack, {"review-1": {"DELIVERED"}})
    attempts = [send["request_id"] for send in simulator.requests("zns_send")]
    assert attempts == ["review-1", "review-1.z2"]

    # Given an OA with room for one more message today, when two come
    used = len(attempts) - 1  # the night's refusal counted nothing
    simulator.configure(daily_quota=used + 1)
    info.publish([order("order-1"), order("order-2")])
    statuses = settle(stack, {"order-1": {"DELIVERED", "DEFERRED"}, "order-2": {"DELIVERED", "DEFERRED"}})

    # Then one is delivered, the other deferred to the quota's next day, then delivered
    assert sorted(statuses[r] for r in ("order-1", "order-2")) == ["DEFERRED", "DELIVERED"]
    [late] = [request_id for request_id in ("order-1", "order-2") if statuses[request_id] == "DEFERRED"]
    assert (info.message(late) or {})["history"][-1]["data"]["error_code"] == "-144"
    assert cross_the_night(simulator, info) == 1
    settle(stack, {late: {"DELIVERED"}})
    assert simulator.accepted_count_by_request_id()[f"{late}.z2"] == 1
