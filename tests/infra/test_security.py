"""template.yaml's hardening (issue 11): least privilege, the optional secrets key, deletion protection,
queue policies, the webhook's limits, https only, and checkov with every finding met or explained."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.template import TEMPLATE_PATH, Resolver, Template
from tests.infra.roles import as_list, granted, role_of, statements
from tests.infra.tools import run, tool

pytestmark = pytest.mark.infra
TEMPLATE = Template()
RESOURCES = TEMPLATE.resources
FUNCTIONS = TEMPLATE.functions()
QUEUES = sorted(TEMPLATE.resources_of_type("AWS::SQS::Queue"))
TABLES = sorted(TEMPLATE.resources_of_type("AWS::DynamoDB::Table"))
# The actions that take no resource (active tracing): the only ones a role may allow on "*".
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SECRET_ARN_PREFIX = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
# What SAM makes of the template (its transform, as in `sam deploy`), run in the aws-sam-cli environment.
SAM_TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

document = yaml_parse(open(sys.argv[1]).read())
for resource in document["Resources"].values():
    for key in ("CodeUri", "ContentUri"):  # as `sam package` leaves them
        if key in resource.get("Properties", {}):
            resource["Properties"][key] = "s3://bucket/key"
print(json.dumps(transform(document, {}, NoManagedPolicies())))
"""


def get_att(resource: str, attribute: str = "Arn") -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


@cache
def sam_transformed() -> dict[str, Any]:
    """The template's resources as SAM's transform makes them (as in `sam deploy`)."""
    sam_python = Path(tool("sam", "make test puts .venv-sam/bin there")).parent / "python"
    result = run([str(sam_python), "-c", SAM_TRANSFORM, str(TEMPLATE_PATH)])
    assert result.returncode == 0, result.stderr
    resources: dict[str, Any] = json.loads(result.stdout)["Resources"]
    return resources


def test_sam_attaches_no_managed_policy_and_every_function_runs_as_its_own_role() -> None:
    # Given the template as SAM transforms it (SQS and DynamoDB events would add AWS's execution
    # policies, which reach every queue and stream of the account, to a role SAM generates)
    transformed = sam_transformed()
    # Then the only roles are the template's own, with inline policies only
    roles = {name for name, resource in transformed.items() if resource["Type"] == "AWS::IAM::Role"}
    assert roles == {role_of(TEMPLATE, function) for function in FUNCTIONS}
    for role in roles:
        assert "ManagedPolicyArns" not in transformed[role]["Properties"], role
    # And each function runs as a role of its own
    for function in FUNCTIONS:
        assert transformed[function]["Properties"]["Role"] == get_att(role_of(TEMPLATE, function))
    assert len(roles) == len(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_statement_names_its_resources(function: str) -> None:
    for statement in statements(TEMPLATE, function):
        actions = set(as_list(statement["Action"]))
        assert all("*" not in action for action in actions), statement
        if "*" in as_list(statement["Resource"]):
            assert actions <= TRACING, statement


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_writes_only_to_its_own_log_group(function: str) -> None:
    log_group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    logs = {
        action: resources for action, resources in granted(TEMPLATE, function).items() if "logs:" in action
    }
    assert logs == {action: [get_att(log_group)] for action in ("logs:CreateLogStream", "logs:PutLogEvents")}


def test_the_sender_consumes_send_queue_and_fallback_queue_only() -> None:
    actions = granted(TEMPLATE, "SenderFunction")
    queues = [get_att("SendQueue"), get_att("FallbackQueue")]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert actions[action] == queues, action
    assert "sqs:SendMessage" not in actions
    event_queues = [
        event["Properties"]["Queue"] for event in TEMPLATE.function("SenderFunction").events.values()
    ]
    assert sorted(map(str, event_queues)) == sorted(map(str, queues))


@pytest.mark.parametrize(
    ("function", "dlq"),
    [("PublisherFunction", "StatusEventsDLQ"), ("FallbackFunction", "FallbackTriggerDLQ")],
)
def test_stream_consumers_read_the_messages_stream_only(function: str, dlq: str) -> None:
    actions = granted(TEMPLATE, function)
    for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
        assert actions[action] == [get_att("MessagesTable", "StreamArn")], action
    assert actions["dynamodb:ListStreams"] == [{"Fn::Sub": "${MessagesTable.Arn}/stream/*"}]
    # The event source's on-failure destination is reached with the function's role
    [event] = TEMPLATE.function(function).events.values()
    assert event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == get_att(dlq)
    assert get_att(dlq) in actions["sqs:SendMessage"]
    assert not any(action.startswith("sqs:Receive") or action == "sqs:DeleteMessage" for action in actions)


def test_only_the_status_api_reads_message_items() -> None:
    readers = {
        function
        for function in FUNCTIONS
        if get_att("MessagesTable") in granted(TEMPLATE, function).get("dynamodb:GetItem", [])
    }
    assert readers == {"StatusFunction"}
    assert granted(TEMPLATE, "SenderFunction")["dynamodb:GetItem"] == [get_att("ThrottleTable")]


def secrets_readable_by(function: str) -> set[str]:
    """The secrets (logical ids) a function's role may read: their names plus Secrets Manager's suffix."""
    patterns = [
        resource["Fn::Sub"]
        for resource in granted(TEMPLATE, function).get("secretsmanager:GetSecretValue", [])
    ]
    readable = set()
    for logical_id, properties in TEMPLATE.resources_of_type("AWS::SecretsManager::Secret").items():
        name = properties["Name"]["Fn::Sub"]
        expected = f"{SECRET_ARN_PREFIX}{name}-??????"
        if expected in patterns:
            readable.add(logical_id)
    assert len(readable) == len(patterns), (
        f"{function} may read secrets the template does not name: {patterns}"
    )
    return readable


@pytest.mark.parametrize(
    ("function", "secrets"),
    [
        ("SenderFunction", {"EsmsSecret", "CallbackKeySecret"}),
        ("CallbackFunction", {"CallbackKeySecret"}),  # internet-facing: never the eSMS keys
        ("ReconcilerFunction", {"EsmsSecret"}),
        ("PublisherFunction", set()),
        ("FallbackFunction", set()),
        ("StatusFunction", set()),
    ],
)
def test_each_function_may_read_only_the_secrets_it_needs(function: str, secrets: set[str]) -> None:
    assert secrets_readable_by(function) == secrets


def test_the_secrets_key_is_optional_and_lets_only_the_reading_roles_decrypt() -> None:
    # Given the key, created only when SecretsKmsKey is "true" (off by default: it costs money)
    parameter = TEMPLATE.document["Parameters"]["SecretsKmsKey"]
    assert parameter["Default"] == "false"
    assert TEMPLATE.document["Conditions"]["UseSecretsKmsKey"] == {
        "Fn::Equals": [{"Ref": "SecretsKmsKey"}, "true"]
    }
    key = RESOURCES["SecretsKey"]
    assert key["Condition"] == "UseSecretsKmsKey"
    assert key["Properties"]["EnableKeyRotation"] is True
    # Then both secrets use it when it exists
    for properties in TEMPLATE.resources_of_type("AWS::SecretsManager::Secret").values():
        assert properties["KmsKeyId"] == {
            "Fn::If": ["UseSecretsKmsKey", {"Ref": "SecretsKey"}, {"Ref": "AWS::NoValue"}]
        }
    # And its policy lets exactly the roles that read a secret decrypt, through Secrets Manager only
    [decrypt] = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Action"] == "kms:Decrypt"]
    readers = [
        get_att(role_of(TEMPLATE, function)) for function in FUNCTIONS if secrets_readable_by(function)
    ]
    assert sorted(map(str, decrypt["Principal"]["AWS"])) == sorted(map(str, readers))
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
    }


@pytest.mark.parametrize("table", TABLES)
def test_tables_are_protected_from_deletion_and_kept(table: str) -> None:
    resource = RESOURCES[table]
    assert resource["Properties"]["DeletionProtectionEnabled"] is True
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def queue_policies() -> dict[str, list[dict[str, Any]]]:
    """Each queue's statements (logical id -> statements), from the template's queue policies."""
    found: dict[str, list[dict[str, Any]]] = {}
    for properties in TEMPLATE.resources_of_type("AWS::SQS::QueuePolicy").values():
        for queue in properties["Queues"]:
            found.setdefault(queue["Ref"], []).extend(properties["PolicyDocument"]["Statement"])
    return found


@pytest.mark.parametrize("queue", QUEUES)
def test_every_queue_refuses_requests_without_tls(queue: str) -> None:
    [deny] = [statement for statement in queue_policies()[queue] if statement["Effect"] == "Deny"]
    assert (deny["Principal"], deny["Action"]) == ("*", "sqs:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert get_att(queue) in as_list(deny["Resource"])


def test_send_queue_names_its_producers_or_else_this_account() -> None:
    parameter = TEMPLATE.document["Parameters"]["ProducerPrincipals"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "")
    [allow] = [statement for statement in queue_policies()["SendQueue"] if statement["Effect"] == "Allow"]
    assert allow["Principal"]["AWS"] == {
        "Fn::If": [
            "HasProducerPrincipals",
            {"Ref": "ProducerPrincipals"},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"},
        ]
    }
    assert "sqs:SendMessage" in allow["Action"]
    assert not any(
        action.startswith(("sqs:Receive", "sqs:Delete", "sqs:Purge")) for action in allow["Action"]
    )
    # Nothing but SendQueue may be sent to from outside the stack
    for queue, policy in queue_policies().items():
        if queue != "SendQueue":
            assert all(statement["Effect"] == "Deny" for statement in policy), queue


def test_the_callback_function_is_capped_and_its_failures_alarm() -> None:
    assert RESOURCES["CallbackFunction"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Ref": "CallbackConcurrency"
    }
    assert TEMPLATE.document["Parameters"]["CallbackConcurrency"]["MinValue"] >= 1
    alarms = {
        (properties["MetricName"], json.dumps(properties["Dimensions"])): properties
        for properties in TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
    }
    errors = alarms[("Errors", json.dumps([{"Name": "FunctionName", "Value": {"Ref": "CallbackFunction"}}]))]
    server_errors = alarms[("5xx", json.dumps([{"Name": "ApiId", "Value": {"Ref": "CallbackApi"}}]))]
    for alarm in (errors, server_errors):
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize(
    ("esms_rate_limit", "callback_concurrency"),
    [(None, None), ("1", "5"), ("45", "80"), ("1000", "1000")],  # None: the parameter's default
)
def test_the_callback_apis_throttle_follows_the_send_rate_and_the_functions_concurrency(
    esms_rate_limit: str | None, callback_concurrency: str | None
) -> None:
    # Given a deployment's EsmsRateLimit and CallbackConcurrency
    parameters = TEMPLATE.document["Parameters"]
    rate_limit = esms_rate_limit or str(parameters["EsmsRateLimit"]["Default"])
    concurrency = callback_concurrency or str(parameters["CallbackConcurrency"]["Default"])
    resolver = Resolver(parameters={"EsmsRateLimit": rate_limit, "CallbackConcurrency": concurrency})

    # When CloudFormation resolves the callback API's stage as SAM makes it
    [stage] = [
        resource["Properties"]
        for resource in sam_transformed().values()
        if resource["Type"] == "AWS::ApiGatewayV2::Stage"
        and resource["Properties"]["ApiId"] == {"Ref": "CallbackApi"}
    ]
    throttle = resolver.resolve(stage["DefaultRouteSettings"])

    # Then it passes ten times the send rate (about three callbacks a send, three times over), as many
    # at once as the function has environments, and never more than the account's default rate
    assert float(throttle["ThrottlingRateLimit"]) == 10 * int(rate_limit) <= 10_000
    assert int(throttle["ThrottlingBurstLimit"]) == int(concurrency)


@pytest.mark.parametrize("parameter", ["EsmsBaseUrl", "EsmsStatusUrl"])
def test_esms_urls_must_be_https(parameter: str) -> None:
    spec = TEMPLATE.document["Parameters"][parameter]
    pattern = re.compile(spec["AllowedPattern"])
    assert pattern.fullmatch(spec["Default"])
    assert pattern.fullmatch("https://esms-sim.example.com:8443/MainService.svc/json")
    for url in ("http://rest.esms.vn/MainService.svc/json", "https://", "ftp://rest.esms.vn", "rest.esms.vn"):
        assert not pattern.fullmatch(url), url


def test_checkov_passes_or_explains_every_check() -> None:
    # Given checkov's CloudFormation checks on the template (offline: no guideline download)
    checkov = tool("checkov", "make test puts .venv-checkov/bin there")
    result = run(
        [checkov, "-f", str(TEMPLATE_PATH), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    )
    report = json.loads(result.stdout)
    # Then nothing fails, and every check skipped in the template says why
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert reason and reason != "No comment provided", (check["check_id"], check["resource"])
    assert result.returncode == 0, result.stderr
