"""The simulator's account and template endpoints answer in eSMS's documented shapes; templates are
configurable over HTTP; faults reach every endpoint; docs/esms-simulator.md documents every knob and URL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import requests

from local.esms_sim import ENDPOINTS, EsmsSimulator, SimulatorConfig
from tests.support import esms_documented as documented
from tests.support.esms_simulator_kit import (
    CREDENTIALS,
    OA_ID,
    assert_documented_shape,
    get_callback,
    post,
    query_status,
    send_body,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "esms-simulator.md"


def call(http: requests.Session, sim: EsmsSimulator, path: str, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = http.post(f"{sim.url}/{path}", json={**CREDENTIALS, **fields}, timeout=5).json()
    return answer


def template_info(
    http: requests.Session, sim: EsmsSimulator, template_id: str, **changes: str
) -> dict[str, Any]:
    query = {**CREDENTIALS, "TemplateId": template_id, "OAId": OA_ID, **changes}
    answer: dict[str, Any] = http.get(f"{sim.url}/GetZnsTemplateInfo", params=query, timeout=5).json()
    return answer


def test_get_balance_answers_are_the_documented_ones(sim: EsmsSimulator, http: requests.Session) -> None:
    # When the balance is asked with the right keys, the wrong ones, and after a change
    balance = call(http, sim, "GetBalance_json")
    unauthorized = call(http, sim, "GetBalance_json", SecretKey="wrong")
    sim.configure(balance=1200.5)
    changed = call(http, sim, "GetBalance_json")

    # Then the answers are eSMS's samples (the defaults are the sample's numbers)
    assert balance == documented.GET_BALANCE
    assert unauthorized == documented.GET_BALANCE_UNAUTHORIZED
    assert changed["Balance"] == 1200.5


def test_get_quota_counts_accepted_zns_down_from_the_daily_quota(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    # Given two accepted ZNS, a sandbox one and a refused one
    post(http, sim, send_body(RequestId="a"))
    post(http, sim, send_body(RequestId="b"))
    post(http, sim, send_body(RequestId="c", Sandbox="1"))
    post(http, sim, send_body(RequestId="d", TempID="999"))

    # When the quota is asked
    quota = call(http, sim, "ZNS/GetQuota/", OAID=OA_ID)

    # Then it has the documented shape, and two sends used it
    assert_documented_shape(quota, documented.GET_QUOTA)
    assert (quota["CodeResult"], quota["DailyQuota"], quota["RemainingQuota"]) == ("100", 5000, 4998)
    assert call(http, sim, "ZNS/GetQuota/", OAID=OA_ID, ApiKey="wrong") == documented.GET_QUOTA_UNAUTHORIZED


def test_get_quota_counts_each_oas_own_sends(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given a ZNS accepted for another OA
    post(http, sim, send_body(RequestId="a", OAID="4097311281936189049"))

    # Then this OA's quota is whole, the other's one less
    assert call(http, sim, "ZNS/GetQuota/", OAID=OA_ID)["RemainingQuota"] == 5000
    assert call(http, sim, "ZNS/GetQuota/", OAID="4097311281936189049")["RemainingQuota"] == 4999


def test_get_quality_answers_each_oas_configured_level_as_documented(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    # Given one OA configured LOW
    sim.configure(oa_quality={OA_ID: "LOW"})

    # When the quality of it and of another OA is asked
    low = call(http, sim, "ZNS/GetQuality/", OAID=OA_ID)
    other = call(http, sim, "ZNS/GetQuality/", OAID="4097311281936189049")

    # Then both answers have the documented shape: LOW for the one, HIGH (the default) for the other
    assert_documented_shape(low, documented.GET_QUALITY)
    assert (low["OaCurrentQuality"], low["Oa7dayQuality"]) == ("LOW", "LOW")
    assert (other["CodeResult"], other["OaCurrentQuality"]) == ("100", "HIGH")
    assert (
        call(http, sim, "ZNS/GetQuality/", OAID=OA_ID, SecretKey="x") == documented.GET_QUALITY_UNAUTHORIZED
    )
    with pytest.raises(ValueError, match="oa_quality"):
        sim.configure(oa_quality={OA_ID: "GREAT"})


def test_get_template_lists_the_registered_templates_as_documented(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    answer = call(http, sim, "GetTemplate/", OAId=OA_ID, SmsType="24")

    assert_documented_shape(answer, documented.GET_TEMPLATE)
    by_id = {template["TempId"]: template for template in answer["ZNSTemplates"]}
    assert set(by_id) == {int(temp_id) for temp_id in sim.config.templates}
    # 205644 is the template of eSMS's sample: its parameter as the sample lists it
    sample = documented.GET_TEMPLATE["ZNSTemplates"][0]
    assert by_id[205644]["ZNSTempDetail"] == sample["ZNSTempDetail"]
    assert by_id[205644]["TempName"] == sample["TempName"]
    assert "{{otp}}" in by_id[205644]["TempContent"]
    assert call(http, sim, "GetTemplate/", OAId=OA_ID, SecretKey="x") == documented.GET_TEMPLATE_UNAUTHORIZED


def test_get_zns_template_info_describes_a_template_as_documented(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    # When 267247, the template of eSMS's sample, is described
    answer = template_info(http, sim, "267247")

    # Then the answer has the sample's shape and its parameters
    assert_documented_shape(answer, documented.GET_ZNS_TEMPLATE_INFO)
    sample = documented.GET_ZNS_TEMPLATE_INFO["Data"]
    data = answer["Data"]
    assert data["ListParams"] == sample["ListParams"]
    for key in (
        "TemplateId",
        "TemplateName",
        "Status",
        "Reason",
        "TemplateTag",
        "TemplateQuality",
        "Timeout",
    ):
        assert data[key] == sample[key], key
    assert (answer["Error"], answer["Message"]) == (0, "Success")
    # And an unknown template or wrong keys keep that envelope with eSMS's codes
    assert template_info(http, sim, "999") == {
        "Data": None,
        "Error": 789,
        "Message": "TemplateId is not config",
    }
    assert template_info(http, sim, "267247", ApiKey="x")["Error"] == 101


def test_templates_are_configurable_over_http(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given a template registered through the control endpoint
    spec = {"name": "Mã giao dịch", "params": [{"name": "code", "type": "NUMBER", "max_length": 6}]}
    updated = http.post(f"{sim.control_url}/config", json={"templates": {"555": spec}})
    invalid = http.post(
        f"{sim.control_url}/config",
        json={"templates": {"556": {"name": "x", "params": [{"name": "a", "type": "BLOB"}]}}},
    )

    # When sends use it, and it is described
    good = post(http, sim, send_body(TempID="555", TempData={"code": "123456"}, RequestId="a")).json()
    bad = post(http, sim, send_body(TempID="555", TempData={"code": "12ab"}, RequestId="b")).json()
    gone = post(http, sim, send_body(TempID="2056446", RequestId="c")).json()

    # Then the configuration replaced the templates, and sends and GetZnsTemplateInfo follow it
    assert updated.status_code == 200
    assert updated.json()["templates"]["555"]["params"][0] == {
        "name": "code",
        "type": "NUMBER",
        "min_length": 0,
        "max_length": 6,
        "require": True,
        "accept_null": False,
    }
    assert invalid.status_code == 400
    assert "type must be one of" in invalid.json()["error"]
    assert [good["CodeResult"], bad["CodeResult"], gone["CodeResult"]] == ["100", "790", "789"]
    [param] = template_info(http, sim, "555")["Data"]["ListParams"]
    assert (param["Name"], param["Type"], param["MaxLength"]) == ("code", "NUMBER", 6)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_faults_reach_every_endpoint(endpoint: Any, sim: EsmsSimulator, http: requests.Session) -> None:
    sim.configure(error_rate_5xx=1.0)

    response = http.request(endpoint.method, f"{sim.status_url}{endpoint.path}", json={}, timeout=5)

    assert response.status_code in {500, 503}
    assert sim.requests(endpoint.name)[0]["fault"] == "5xx"


def test_a_status_call_is_logged_with_its_answer(sim: EsmsSimulator, http: requests.Session) -> None:
    query_status(http, sim, "unknown")
    get_callback(http, sim, ["x"])

    query, callback = sim.requests()

    assert (query["endpoint"], query["code_result"], query["error_message"]) == (
        "query_zns_status",
        "854",
        "No data found",
    )
    assert (callback["endpoint"], callback["code_result"], callback["body"]["ListRefid"]) == (
        "get_callback",
        "100",
        ["x"],
    )
    assert http.get(f"{sim.control_url}/requests", params={"endpoint": "get_callback"}).json() == [callback]


def test_its_page_documents_every_endpoint_and_configuration_key() -> None:
    text = PAGE.read_text()

    for endpoint in ENDPOINTS:
        assert endpoint.path.rsplit("/", 1)[-1] in text, endpoint.name
        assert f"`{endpoint.name}`" in text
    for key in dataclasses.fields(SimulatorConfig):
        assert f"| `{key.name}` |" in text, key.name
    for control in ("/config", "/reset", "/requests", "/callbacks", "/stats"):
        assert f"{{control_url}}{control}" in text, control
