"""The IAM policies for status API readers that docs/outcomes.md shows ("one campaign only", "no phone
lookups") and the template's route ARN outputs, evaluated by an IAM policy evaluator (moto's) against the
execute-api ARN API Gateway authorises for each route request.

API Gateway checks `execute-api:Invoke` on arn:aws:execute-api:region:account-id:api-id/stage/METHOD/path
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html),
the path without its query string. The requests here are the sample events of events/ (their account, API
id, stage `$default`, method and path, as API Gateway hands them to the function), with other values in
their path parameters. The policies name the stage `*`: moto's evaluator reads a Resource as a regular
expression where only `*` is a wildcard, so a literal `$default` in a policy would never match there (on
AWS it would); `*` matches it in both.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from local.runtime.template import Template
from tests.conftest import load_event

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
OUTCOMES_PAGE = (ROOT / "docs" / "outcomes.md").read_text(encoding="utf-8")
ONE_CAMPAIGN = ROOT / "examples" / "status-reader-one-campaign.json"
NO_PHONE_LOOKUPS = ROOT / "examples" / "status-reader-no-phone-lookups.json"
TEMPLATE = Template()
ROUTES = {
    f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
    for event in TEMPLATE.function("StatusFunction").events.values()
    if event["Type"] == "HttpApi"
}
SAMPLE_EVENTS = {
    "GET /messages/{request_id}": "status-get-message.json",
    "GET /phones/{phone}/messages": "status-list-by-phone.json",
    "GET /campaigns/{campaign}/messages": "status-list-by-campaign.json",
    "GET /statuses/{status}/messages": "status-list-by-status.json",
}
INVOKE = "execute-api:Invoke"


def request(route: str, **path_parameters: str) -> dict[str, Any]:
    """The event API Gateway hands the function for a request of `route` with these path parameters."""
    event = copy.deepcopy(load_event(SAMPLE_EVENTS[route]))
    path = route.split(" ", 1)[1]
    for name, value in path_parameters.items():
        path = path.replace(f"{{{name}}}", value)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = path_parameters
    return event


def execute_api_arn(event: dict[str, Any]) -> str:
    """The ARN API Gateway authorises the request of this event against."""
    context = event["requestContext"]
    region = context["domainName"].split(".")[2]  # <api-id>.execute-api.<region>.amazonaws.com
    http = context["http"]
    return (
        f"arn:aws:execute-api:{region}:{context['accountId']}:{context['apiId']}"
        f"/{context['stage']}/{http['method']}{http['path']}"
    )


def decision(policy: dict[str, Any], event: dict[str, Any]) -> PermissionResult:
    return IAMPolicy(json.dumps(policy)).is_action_permitted(INVOKE, execute_api_arn(event))


def documented(path: Path) -> dict[str, Any]:
    """A policy file, after checking that docs/outcomes.md shows it as it is."""
    text = path.read_text(encoding="utf-8").strip()
    assert f"```json\n{text}\n```" in OUTCOMES_PAGE, f"docs/outcomes.md does not show {path.name} as it is"
    policy: dict[str, Any] = json.loads(text)
    return policy


# One request of each route, and of the lists with other values than the ones the policies name
REQUESTS = {
    "message": request("GET /messages/{request_id}", request_id="order-DH240501-confirm"),
    "autumn-sale": request("GET /campaigns/{campaign}/messages", campaign="autumn-sale"),
    "winter-sale": request("GET /campaigns/{campaign}/messages", campaign="winter-sale"),
    "autumn-sale-2": request("GET /campaigns/{campaign}/messages", campaign="autumn-sale-2"),
    "autumn": request("GET /campaigns/{campaign}/messages", campaign="autumn"),
    "phone": request("GET /phones/{phone}/messages", phone="0901888484"),
    "phone+84": request("GET /phones/{phone}/messages", phone="+84901888484"),
    "status": request("GET /statuses/{status}/messages", status="FAILED"),
}


def test_the_requests_cover_every_route_and_their_arns_are_api_gateways() -> None:
    assert {event["routeKey"] for event in REQUESTS.values()} == ROUTES == set(SAMPLE_EVENTS)
    assert execute_api_arn(REQUESTS["autumn-sale"]) == (
        "arn:aws:execute-api:ap-southeast-1:123456789012:a1b2c3d4e5/$default/GET/campaigns/autumn-sale/messages"
    )
    # And the sample events themselves are requests of their routes
    for route, name in SAMPLE_EVENTS.items():
        event = load_event(name)
        path = re.sub(r"\{\w+\}", "[^/]+", route.split(" ", 1)[1])
        assert event["routeKey"] == route and re.fullmatch(path, event["rawPath"]), name


def test_one_campaign_only_lists_that_campaign_and_reads_nothing_else() -> None:
    policy = documented(ONE_CAMPAIGN)

    allowed = {
        name for name, event in REQUESTS.items() if decision(policy, event) is PermissionResult.PERMITTED
    }

    assert allowed == {"autumn-sale"}
    # Nor the same list on another API, or with another method
    other_api = copy.deepcopy(REQUESTS["autumn-sale"])
    other_api["requestContext"]["apiId"] = "z9y8x7w6v5"
    posted = copy.deepcopy(REQUESTS["autumn-sale"])
    posted["requestContext"]["http"]["method"] = "POST"
    assert decision(policy, other_api) is decision(policy, posted) is PermissionResult.NEUTRAL


def test_no_phone_lookups_reads_everything_but_the_lists_by_phone() -> None:
    policy = documented(NO_PHONE_LOOKUPS)

    decisions = {name: decision(policy, event) for name, event in REQUESTS.items()}

    # An explicit Deny: no other policy of the principal can allow a phone lookup back
    assert {name for name, result in decisions.items() if result is PermissionResult.DENIED} == {
        "phone",
        "phone+84",
    }
    assert {name for name, result in decisions.items() if result is PermissionResult.PERMITTED} == (
        set(REQUESTS) - {"phone", "phone+84"}
    )


def output_arn(name: str) -> str:
    """A route ARN output, resolved for the sample events' deployment."""
    pattern: str = TEMPLATE.document["Outputs"][name]["Value"]["Fn::Sub"]
    for variable, value in {
        "${AWS::Partition}": "aws",
        "${AWS::Region}": "ap-southeast-1",
        "${AWS::AccountId}": "123456789012",
        "${StatusApi}": "a1b2c3d4e5",
    }.items():
        pattern = pattern.replace(variable, value)
    return pattern


@pytest.mark.parametrize(
    ("output", "allows"),
    [
        ("StatusApiRoutesArn", set(REQUESTS)),
        ("StatusApiMessageRouteArn", {"message"}),
        ("StatusApiPhoneRouteArn", {"phone", "phone+84"}),
        ("StatusApiCampaignRouteArn", {"autumn-sale", "winter-sale", "autumn-sale-2", "autumn"}),
        ("StatusApiStatusRouteArn", {"status"}),
    ],
)
def test_each_route_arn_output_allows_its_routes_requests_only(output: str, allows: set[str]) -> None:
    policy = allow(output_arn(output))

    allowed = {
        name for name, event in REQUESTS.items() if decision(policy, event) is PermissionResult.PERMITTED
    }

    assert allowed == allows
    # And nothing of another API (the callback API is one), nor another method
    for name in allows:
        other_api = copy.deepcopy(REQUESTS[name])
        other_api["requestContext"]["apiId"] = "c4llb4ck01"
        posted = copy.deepcopy(REQUESTS[name])
        posted["requestContext"]["http"]["method"] = "POST"
        assert decision(policy, other_api) is decision(policy, posted) is PermissionResult.NEUTRAL


def allow(resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": INVOKE, "Resource": resource}],
    }
