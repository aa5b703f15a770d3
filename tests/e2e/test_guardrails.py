"""The guardrails through the embedded stack: GuardrailsFunction, wired from the template's schedule,
reads the simulated eSMS's quota and quality of the deployment's OAs and prints the metrics the
alarms watch (Powertools' EMF lines in the functions' output)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.esms_sim import SimulatorConfig
from local.stack import LOCAL_PARAMETERS, LocalStack
from tests.support.emf import emf_lines
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
DEFAULT_OA = LOCAL_PARAMETERS["DefaultOaId"]
LOW_OA = "4097311281936189049"  # an allowed OA Zalo rates LOW


@pytest.fixture(scope="module")
def function_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("guardrails") / "functions.log"


@pytest.fixture(scope="module")
def stack(function_log: Path) -> Iterator[LocalStack]:
    # A 10-message daily quota, so that a few sends use most of it
    config = SimulatorConfig(daily_quota=10, oa_quality={LOW_OA: "LOW"})
    parameters = {"AllowedOaIds": f"{DEFAULT_OA},{LOW_OA}"}
    with LocalStack(simulator_config=config, parameters=parameters, function_output=function_log) as running:
        yield running


def test_a_low_quota_and_a_low_quality_reach_the_metrics_the_alarms_watch(
    stack: LocalStack, function_log: Path
) -> None:
    # Given 9 of the deployment's OA's 10 ZNS of today sent through the stack
    info = stack.info
    assert info is not None
    info.publish(
        [{"Phone": "0901888484", "TempID": "2056446", "TempData": {"otp": str(n)}, "RequestId": f"g-{n}"}
         for n in range(9)]
    )  # fmt: skip
    accepted = {"ACCEPTED", "SENT", "DELIVERED"}
    assert wait_for(lambda: sum(status in accepted for status in info.statuses().values()) == 9, 60)

    # When the guardrails run on their schedule
    [guardrails] = [schedule for schedule in stack.schedules if schedule.logical_id == "GuardrailsFunction"]
    result = guardrails.run_now()

    # Then they name both OAs' trouble
    assert result == {
        "findings": [{"kind": "quota_low", "oa_id": DEFAULT_OA}, {"kind": "quality_low", "oa_id": LOW_OA}]
    }
    # And the function's output holds the metrics: per OA, and the two the alarms watch
    metrics = emf_lines(function_log.read_text())
    per_oa = {
        (line["name"], line["dimensions"].get("OaId")): line["value"]
        for line in metrics
        if line["name"].startswith("ZnsQu")
    }
    assert per_oa[("ZnsQuotaRemaining", DEFAULT_OA)] == 1
    assert per_oa[("ZnsQuotaRemainingPercent", DEFAULT_OA)] == 10.0
    assert per_oa[("ZnsQuality", LOW_OA)] == 1
    watched = [(line["name"], line["value"]) for line in metrics if "OaId" not in line["dimensions"]]
    assert ("LowestZnsQuotaRemainingPercent", 10.0) in watched
    assert ("LowQualityOas", 1) in watched
    # And eSMS was asked both questions about each OA, with the account's keys
    asked = {(request["endpoint"], request["body"]["OAID"]) for request in stack.simulator.requests()
             if request["endpoint"] in ("get_quota", "get_quality")}  # fmt: skip
    assert asked == {
        (endpoint, oa) for endpoint in ("get_quota", "get_quality") for oa in (DEFAULT_OA, LOW_OA)
    }
