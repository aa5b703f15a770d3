"""template.yaml's outcome events, status API, alarms and dashboard: the rules producers and operators
rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.runtime.template import Template
from tests.infra.roles import granted
from zns_relay.guardrails.evaluation import METRIC_NAMES
from zns_relay.models.state import MessageStatus
from zns_relay.store.indexes import STATUS_SHARDS, WAITING_INDEX
from zns_relay.store.message_index import CAMPAIGN_INDEX, PHONE_INDEX, STATUS_INDEX, VIEW_ATTRIBUTES

pytestmark = pytest.mark.infra
TEMPLATE = Template()
RESOURCES = TEMPLATE.resources
STATUS_ROUTES = {
    name: event["Properties"]
    for name, event in TEMPLATE.function("StatusFunction").events.items()
    if event["Type"] == "HttpApi"
}


def indexes() -> dict[str, dict[str, Any]]:
    table = RESOURCES["MessagesTable"]["Properties"]
    return {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}


def test_the_messages_table_streams_both_images_of_every_change() -> None:
    table = RESOURCES["MessagesTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_publisher_reads_the_stream_with_partial_failures_bisection_bounded_retries_and_a_dlq() -> None:
    [event] = TEMPLATE.function("PublisherFunction").events.values()
    properties = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert properties["Stream"] == {"Fn::GetAtt": ["MessagesTable", "StreamArn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert 0 < properties["MaximumRetryAttempts"] <= 20
    assert properties["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["StatusEventsDLQ", "Arn"]},
    }
    # Deletions (TTL) change no status; inserts and modifications all reach the function
    [pattern] = properties["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == {"eventName": ["INSERT", "MODIFY"]}


def test_the_publisher_may_put_events_on_the_status_bus_only() -> None:
    events = {
        action: resources
        for action, resources in granted(TEMPLATE, "PublisherFunction").items()
        if "events:" in action
    }
    # (named by its name, not !GetAtt: the bus's policy names the role, which would be a cycle)
    bus_name = RESOURCES["StatusEventBus"]["Properties"]["Name"]["Fn::Sub"]
    bus_arn = f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{bus_name}"
    assert events == {"events:PutEvents": [{"Fn::Sub": bus_arn}]}
    environment = TEMPLATE.function("PublisherFunction").environment
    assert environment["EVENT_BUS_NAME"] == {"Ref": "StatusEventBus"}
    assert environment["EVENT_PHONE_FORMAT"] == {"Ref": "EventPhoneFormat"}


def test_phones_are_masked_on_the_bus_unless_the_deployment_says_otherwise() -> None:
    parameter = TEMPLATE.document["Parameters"]["EventPhoneFormat"]
    assert parameter["Default"] == "masked"
    assert parameter["AllowedValues"] == ["masked", "full"]


def test_the_bus_and_the_api_are_named_in_the_outputs() -> None:
    outputs = TEMPLATE.document["Outputs"]
    assert outputs["StatusEventBusName"]["Value"] == {"Ref": "StatusEventBus"}
    assert outputs["StatusEventBusArn"]["Value"] == {"Fn::GetAtt": ["StatusEventBus", "Arn"]}
    assert "${StatusApi}" in outputs["StatusApiUrl"]["Value"]["Fn::Sub"]
    assert outputs["StatusEventsDLQUrl"]["Value"] == {"Ref": "StatusEventsDLQ"}


def test_every_status_route_requires_aws_iam() -> None:
    api = RESOURCES["StatusApi"]["Properties"]["Auth"]
    assert api == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}
    assert {(route["Method"], route["Path"]) for route in STATUS_ROUTES.values()} == {
        ("GET", "/messages/{request_id}"),
        ("GET", "/phones/{phone}/messages"),
        ("GET", "/campaigns/{campaign}/messages"),
        ("GET", "/statuses/{status}/messages"),
    }
    for route in STATUS_ROUTES.values():
        assert route["ApiId"] == {"Ref": "StatusApi"}
        assert route["Auth"] == {"Authorizer": "AWS_IAM"}
        assert TEMPLATE.route_authorizer(route) == "AWS_IAM"


def test_the_callback_api_stays_public_and_apart_from_the_status_api() -> None:
    [callback] = TEMPLATE.function("CallbackFunction").events.values()
    assert callback["Properties"]["ApiId"] == {"Ref": "CallbackApi"}
    assert TEMPLATE.route_authorizer(callback["Properties"]) is None


def test_the_status_function_reads_the_table_and_queries_only_the_list_indexes() -> None:
    actions = granted(TEMPLATE, "StatusFunction")
    assert {action for action in actions if action.startswith("dynamodb:")} == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    }
    assert not any(action.startswith(("sqs:", "secretsmanager:", "events:")) for action in actions)
    assert {resource["Fn::Sub"].rsplit("/", 1)[1] for resource in actions["dynamodb:Query"]} == {
        PHONE_INDEX,
        CAMPAIGN_INDEX,
        STATUS_INDEX,
        WAITING_INDEX,  # the lists of a status messages wait in (keys only)
    }


def test_list_indexes_are_keys_only_newest_first_and_the_status_key_is_sharded() -> None:
    found = indexes()
    assert found[PHONE_INDEX]["KeySchema"] == [
        {"AttributeName": "phone", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert found[CAMPAIGN_INDEX]["KeySchema"] == [
        {"AttributeName": "campaign_id", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert found[STATUS_INDEX]["KeySchema"] == [
        {"AttributeName": "status_shard", "KeyType": "HASH"},
        {"AttributeName": "status_at", "KeyType": "RANGE"},
    ]
    for name in (PHONE_INDEX, CAMPAIGN_INDEX, STATUS_INDEX):
        assert found[name]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert STATUS_SHARDS >= 4


def test_the_api_shows_no_internal_attribute() -> None:
    internal = {"claim_token", "lease_until", "awaiting", "check_at", "status_shard", "expires_at", "history"}
    assert not internal & set(VIEW_ATTRIBUTES)


def metric_alarms() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


@pytest.mark.parametrize(
    ("namespace", "metric", "watched"),
    [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": ["SendDLQ", "QueueName"]}),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"Fn::GetAtt": ["SendQueue", "QueueName"]}),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": ["StatusEventsDLQ", "QueueName"]}),
        ("AWS/Lambda", "Errors", {"Ref": "SenderFunction"}),
        ("AWS/Lambda", "Errors", {"Ref": "CallbackFunction"}),
        ("AWS/Lambda", "Errors", {"Ref": "ReconcilerFunction"}),
        ("AWS/Lambda", "Errors", {"Ref": "PublisherFunction"}),
        ("AWS/Lambda", "IteratorAge", {"Ref": "PublisherFunction"}),
        ("AWS/ApiGateway", "5xx", {"Ref": "CallbackApi"}),
        ("ZnsRelay", "AccountErrors", "zns-relay"),
        ("ZnsRelay", "CallbacksNotRecorded", "zns-relay"),
        ("ZnsRelay", "CallbacksForbidden", "zns-relay"),
        ("ZnsRelay", "StatusEventsFailed", "zns-relay"),
    ],
)
def test_an_alarm_watches_it_and_tells_the_alarm_topic(namespace: str, metric: str, watched: Any) -> None:
    matching = [
        alarm
        for alarm in metric_alarms().values()
        if (alarm.get("Namespace"), alarm.get("MetricName")) == (namespace, metric)  # not a metric-math one
        and [dimension["Value"] for dimension in alarm["Dimensions"]] == [watched]
    ]
    assert len(matching) == 1
    assert matching[0]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert matching[0]["TreatMissingData"] == "notBreaching"


def dashboard() -> dict[str, Any]:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    document: dict[str, Any] = json.loads(body)
    return document


def test_the_dashboard_is_valid_json_showing_every_alarm() -> None:
    [alarms] = [widget for widget in dashboard()["widgets"] if widget["type"] == "alarm"]
    shown = {re.fullmatch(r"\$\{(\w+)\.Arn\}", arn).group(1) for arn in alarms["properties"]["alarms"]}  # type: ignore[union-attr]
    assert shown == set(metric_alarms())


@pytest.mark.parametrize(
    "title_word",
    ["outcomes per status", "latency", "SendQueue depth", "Dead-letter", "callbacks", "Reconciliation"],
)
def test_the_dashboard_shows(title_word: str) -> None:
    titles = [widget["properties"]["title"] for widget in dashboard()["widgets"]]
    assert any(title_word.lower() in title.lower() for title in titles), titles


def test_the_dashboard_names_only_resources_and_metrics_the_stack_has() -> None:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for reference in re.findall(r"\$\{([\w:]+)(?:\.\w+)?\}", body):
        assert reference.startswith("AWS::") or reference in RESOURCES, reference
    custom = {
        metric[1]
        for widget in dashboard()["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
        if metric[0] == "ZnsRelay"
    }
    emitted = _metric_names_in_code()
    assert custom <= emitted, custom - emitted


def _metric_names_in_code() -> set[str]:
    """Every metric name the functions emit (count("X"), milliseconds("X"), Messages<Status>)."""
    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("layers/common/zns_relay/**/*.py"), *root.glob("functions/*/*.py")]
    names = {
        match
        for source in sources
        for match in re.findall(r"(?:count|milliseconds)\(\s*\"(\w+)\"", source.read_text())
    }
    return names | {f"Messages{status.value.capitalize()}" for status in MessageStatus} | METRIC_NAMES
