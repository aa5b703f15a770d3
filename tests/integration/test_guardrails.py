"""GuardrailsFunction's handler on moto (the eSMS secret), asking the eSMS simulator or a failing eSMS
over loopback HTTP: the metrics it prints (Powertools' EMF lines) are what the alarms watch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.esms_sim import EsmsSimulator, SimulatorConfig
from local.runtime.template import Resolver
from tests.conftest import DEFAULT_OA_ID, LoadedFunction, load_event, load_function
from tests.support.emf import emf_lines
from tests.support.esms_simulator_kit import post, send_body
from tests.support.esms_stub import EsmsStub, Reply

OTHER_OA = "4097311281936189049"
EVENT = "guardrails-schedule.json"


def by_name(lines: list[dict[str, Any]], oa_id: str | None = None) -> dict[str, float]:
    return {
        line["name"]: line["value"]
        for line in lines
        if line["dimensions"].get("OaId") == oa_id and line["name"] != "ColdStart"
    }


@pytest.fixture
def simulator() -> Iterator[EsmsSimulator]:
    config = SimulatorConfig(daily_quota=10, oa_quality={OTHER_OA: "LOW"})
    with EsmsSimulator(config=config) as sim:
        yield sim


def guardrails(deployment: Resolver, monkeypatch: pytest.MonkeyPatch, **overrides: str) -> LoadedFunction:
    return load_function("GuardrailsFunction", deployment, monkeypatch, overrides)


def test_each_oa_s_quota_and_quality_and_the_alarms_metrics_are_published(
    deployment: Resolver,
    simulator: EsmsSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the deployment's OA with 9 of its 10 ZNS used today, and another allowed OA rated LOW
    with requests.Session() as http:
        for index in range(9):
            post(http, simulator, send_body(RequestId=f"r-{index}", OAID=DEFAULT_OA_ID))
    function = guardrails(deployment, monkeypatch, ESMS_BASE_URL=simulator.url, ALLOWED_OA_IDS=OTHER_OA)
    capsys.readouterr()

    # When the schedule runs it
    result = function.invoke(load_event(EVENT))

    # Then each OA's metrics carry its OaId (beside service), in the stack's namespace
    lines = emf_lines(capsys.readouterr().out)
    assert by_name(lines, DEFAULT_OA_ID) == {
        "ZnsQuotaRemaining": 1,
        "ZnsQuotaRemainingPercent": 10.0,
        "ZnsQuality": 3,
    }
    assert by_name(lines, OTHER_OA) == {
        "ZnsQuotaRemaining": 10,
        "ZnsQuotaRemainingPercent": 100.0,
        "ZnsQuality": 1,
    }
    assert {line["namespace"] for line in lines} == {"ZnsRelay"}
    per_oa = [line for line in lines if "OaId" in line["dimensions"]]
    assert all(line["dimensions"]["service"] == "zns-relay" for line in per_oa)
    # And the metrics the alarms watch sum the deployment up (service only)
    assert by_name(lines) == {
        "LowestZnsQuotaRemainingPercent": 10.0,
        "LowQualityOas": 1,
        "GuardrailCheckFailed": 0,
    }
    assert {line["unit"] for line in lines if line["name"] == "LowestZnsQuotaRemainingPercent"} == {"Percent"}
    # And the handler names what needs an operator
    assert result == {
        "findings": [
            {"kind": "quota_low", "oa_id": DEFAULT_OA_ID},
            {"kind": "quality_low", "oa_id": OTHER_OA},
        ]
    }


def test_an_esms_that_cannot_be_asked_publishes_no_quota_or_quality_and_never_fails_the_run(
    deployment: Resolver,
    esms: EsmsStub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given eSMS answering every question with 503
    esms.responder = lambda body: Reply(status=503, body="")
    function = guardrails(deployment, monkeypatch, ESMS_BASE_URL=esms.base_url, ALLOWED_OA_IDS=OTHER_OA)
    capsys.readouterr()

    result = function.invoke(load_event(EVENT))

    # Then the run ends normally, both questions about both OAs counted as failed checks, and nothing
    # else published (the alarms keep their state)
    lines = emf_lines(capsys.readouterr().out)
    assert [(line["name"], line["value"]) for line in lines if line["name"] != "ColdStart"] == [
        ("GuardrailCheckFailed", 4)
    ]
    assert {finding["kind"] for finding in result["findings"]} == {"check_failed"}
    # And no log line carries the keys eSMS was asked with
    assert all("local-secret-key" not in record.getMessage() for record in caplog.records)
    assert {"OAID": OTHER_OA}.items() <= esms.bodies[-1].items()


# Powertools warns (once per environment) that the run published no metric: as it should, with no OA.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_with_no_oa_named_it_says_so_once_and_publishes_nothing(
    deployment: Resolver,
    esms: EsmsStub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a deployment with neither DefaultOaId nor AllowedOaIds
    function = guardrails(deployment, monkeypatch, ESMS_BASE_URL=esms.base_url, DEFAULT_OA_ID="")
    capsys.readouterr()

    results = [function.invoke(load_event(EVENT)) for _ in range(2)]

    assert results == [{"findings": []}] * 2
    assert emf_lines(capsys.readouterr().out) == []
    assert esms.bodies == []
    said = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
    assert [message for message in said if "no OA to watch" in message] == [said[0]] and len(said) == 1
