"""template.yaml's hardening (issue 11): least privilege, the optional secrets key, deletion protection,
queue policies, the webhook's limits, https only, and checkov with every finding met or explained."""

from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.runtime.template import TEMPLATE_PATH, Resolver, Template
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
# What Lambda needs to put a function in a VPC (AWSLambdaVPCAccessExecutionRole): EC2 takes no resource
# for these. Only the functions a fixed egress applies to are given them (test_egress.py).
NETWORK_INTERFACES = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
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
            assert actions <= TRACING or actions == NETWORK_INTERFACES, statement


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


def test_only_the_status_api_reads_message_items_and_the_sender_what_it_resends() -> None:
    readers = {
        function
        for function in FUNCTIONS
        if get_att("MessagesTable") in granted(TEMPLATE, function).get("dynamodb:GetItem", [])
    }
    assert readers == {"StatusFunction", "SenderFunction"}
    # the sender reads a DEFERRED message's item for its resend, limited to what it sends
    # (tests/infra/test_template.py checks the attributes)
    assert granted(TEMPLATE, "SenderFunction")["dynamodb:GetItem"] == [
        get_att("MessagesTable"),
        get_att("ThrottleTable"),
    ]


def test_only_the_report_appliers_remember_refusals_and_the_sender_reads_them_in_one_batch() -> None:
    # The person's refusals (Zalo -141, -139) live in ThrottleTable: the functions that apply delivery
    # reports write them, nothing else of that table; the sender reads them before it sends.
    writers = {
        function
        for function in FUNCTIONS
        if get_att("ThrottleTable") in granted(TEMPLATE, function).get("dynamodb:PutItem", [])
    }
    assert writers == {"CallbackFunction", "ReconcilerFunction"}
    for function in writers:
        assert granted(TEMPLATE, function)["dynamodb:PutItem"] == [get_att("ThrottleTable")]
        assert "dynamodb:GetItem" not in granted(TEMPLATE, function)
    assert get_att("ThrottleTable") in granted(TEMPLATE, "SenderFunction")["dynamodb:BatchGetItem"]


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
        ("SenderFunction", {"EsmsSecret", "CallbackKeySecret", "FingerprintKeySecret"}),
        ("CallbackFunction", {"CallbackKeySecret"}),  # internet-facing: never the eSMS keys
        ("ReconcilerFunction", {"EsmsSecret"}),
        ("GuardrailsFunction", {"EsmsSecret"}),
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


# What a key's user does with it; a key administrator gets none of these (nor CreateGrant, which would
# let it give itself one).
KMS_USE = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
           "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"}  # fmt: skip


def test_only_the_sender_may_seal_and_open_fallback_texts_and_only_naming_their_message() -> None:
    # Given the key of the SMS fallback texts: always there (an OTP is never at rest in plain text)
    key = RESOURCES["FallbackTextKey"]
    assert "Condition" not in key
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    # Then the only statement that uses it names SenderFunction's role, with the message in the context
    users = [s for s in statements if set(as_list(s["Action"])) & KMS_USE]
    assert [(s["Principal"], sorted(as_list(s["Action"]))) for s in users] == [
        ({"AWS": get_att(role_of(TEMPLATE, "SenderFunction"))}, ["kms:Decrypt", "kms:Encrypt"])
    ]
    assert users[0]["Condition"] == {
        "Null": {"kms:EncryptionContext:fallback_for": "false"},
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["fallback_for"]},
    }
    # And the account administers it without wildcards that would reach a use of it
    for statement in statements:
        assert all("*" not in action for action in as_list(statement["Action"])), statement
    # And no role's own policy reaches KMS: the key policy is the whole story
    for function in FUNCTIONS:
        assert not [action for action in granted(TEMPLATE, function) if action.startswith("kms:")], function
    environment = TEMPLATE.function("SenderFunction").environment
    assert environment["FALLBACK_TEXT_KEY_ID"] == get_att("FallbackTextKey")


@pytest.mark.parametrize("table", TABLES)
def test_tables_are_protected_from_deletion_and_kept(table: str) -> None:
    resource = RESOURCES[table]
    assert resource["Properties"]["DeletionProtectionEnabled"] is True
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def present(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement as it is when its condition holds (`!If [Cond, statement, !Ref AWS::NoValue]`)."""
    if "Fn::If" in statement:
        condition, when_true, when_false = statement["Fn::If"]
        assert when_false == {"Ref": "AWS::NoValue"}, statement
        return {**when_true, "If": condition}
    return statement


def queue_policies() -> dict[str, list[dict[str, Any]]]:
    """Each queue's statements (logical id -> statements), from the template's queue policies; a
    conditional statement as it is when its condition holds (its condition in "If")."""
    found: dict[str, list[dict[str, Any]]] = {}
    for properties in TEMPLATE.resources_of_type("AWS::SQS::QueuePolicy").values():
        for queue in properties["Queues"]:
            statements = [present(statement) for statement in properties["PolicyDocument"]["Statement"]]
            found.setdefault(queue["Ref"], []).extend(
                statement
                for statement in statements
                if get_att(queue["Ref"]) in as_list(statement["Resource"])
            )
    return found


def denied_unless(statement: dict[str, Any], operator: str) -> Any:
    """The principals a Deny statement leaves out (its `operator` on aws:PrincipalArn)."""
    assert (statement["Effect"], statement["Principal"]) == ("Deny", "*"), statement
    return statement["Condition"][operator]["aws:PrincipalArn"]


def evaluate(expression: Any, parameters: dict[str, list[str]], conditions: dict[str, bool]) -> Any:
    """The value of a template expression of Ref, Fn::GetAtt (shown as "<Resource>.Arn"), Fn::Join,
    Fn::Split and Fn::If, as CloudFormation computes it: enough for the policies' principal lists."""
    if isinstance(expression, list):
        return [evaluate(item, parameters, conditions) for item in expression]
    if not isinstance(expression, dict):
        return expression
    ((function, argument),) = expression.items()
    match function:
        case "Ref":
            return parameters[argument]
        case "Fn::GetAtt":
            return ".".join(argument)
        case "Fn::Join":
            return argument[0].join(evaluate(argument[1], parameters, conditions))
        case "Fn::Split":
            return evaluate(argument[1], parameters, conditions).split(argument[0])
        case "Fn::If":
            chosen = argument[1] if conditions[argument[0]] else argument[2]
            return evaluate(chosen, parameters, conditions)
    raise AssertionError(f"not evaluated here: {function}")


def arn_like(arn: str, pattern: str) -> bool:
    """IAM's ArnLike: each of the six colon-separated parts matched with its wildcards."""
    arn_parts, pattern_parts = arn.split(":", 5), pattern.split(":", 5)
    return len(arn_parts) == len(pattern_parts) == 6 and all(
        fnmatch.fnmatchcase(part, wanted) for part, wanted in zip(arn_parts, pattern_parts, strict=True)
    )


@pytest.mark.parametrize("queue", QUEUES)
def test_every_queue_refuses_requests_without_tls(queue: str) -> None:
    [deny] = [
        statement
        for statement in queue_policies()[queue]
        if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:*")
    assert "If" not in deny


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


def test_send_queue_refuses_every_other_principal_once_producers_are_named() -> None:
    # Given SendQueue's deny, present only when ProducerPrincipals names someone
    [deny] = [
        statement
        for statement in queue_policies()["SendQueue"]
        if statement["Effect"] == "Deny" and "aws:SecureTransport" not in json.dumps(statement)
    ]
    assert (deny["If"], deny["Action"]) == ("HasProducerPrincipals", "sqs:SendMessage")
    assert deny["Condition"]["Bool"] == {"aws:PrincipalIsAWSService": "false"}  # SNS, EventBridge: their own
    # When ProducerPrincipals names a role of one account and the root of another
    producers = ["arn:aws:iam::111122223333:role/orders", "arn:aws:iam::444455556666:root"]
    exempt = evaluate(denied_unless(deny, "ArnNotLike"), {"ProducerPrincipals": producers}, {})

    def may_send(principal: str) -> bool:
        return any(arn_like(principal, pattern) for pattern in exempt)

    # Then the listed role and every principal of the listed account may send, no one else
    assert may_send("arn:aws:iam::111122223333:role/orders")
    assert may_send("arn:aws:iam::444455556666:role/billing")
    assert may_send("arn:aws:iam::444455556666:user/ops")
    assert not may_send("arn:aws:iam::111122223333:role/admin")  # the queue's own account's others
    assert not may_send("arn:aws:iam::111122223333:role/orders-copy")
    assert not may_send("arn:aws:iam::999999999999:role/orders")
    # And with none named, nothing is denied beyond what the allow statement leaves out
    assert TEMPLATE.document["Conditions"]["HasProducerPrincipals"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ProducerPrincipals"}]}, ""]}]
    }


def users_of(queue: str, action: str) -> set[str]:
    """The functions whose role may do `action` on `queue`."""
    return {
        function for function in FUNCTIONS if get_att(queue) in granted(TEMPLATE, function).get(action, [])
    }


def test_only_the_relays_own_functions_queue_jobs_and_only_the_sender_reads_them() -> None:
    # Given FallbackQueue's denies (not its TLS one)
    statements = [
        statement
        for statement in queue_policies()["FallbackQueue"]
        if statement["Effect"] == "Deny" and "aws:SecureTransport" not in json.dumps(statement)
    ]
    by_action = {action: statement for statement in statements for action in as_list(statement["Action"])}
    # Then every principal but FallbackFunction's role (an SMS job is an SMS under the brandname) and
    # the reconciler's (a DEFERRED message's resend) is refused sending, and every one but the
    # sender's refused reading, deleting, hiding or purging
    assert users_of("FallbackQueue", "sqs:SendMessage") == {"FallbackFunction", "ReconcilerFunction"}
    send = denied_unless(by_action["sqs:SendMessage"], "ArnNotEquals")
    only_role = {"FallbackRedrivePrincipals": [""]}
    assert evaluate(send, only_role, {"HasFallbackRedrivePrincipals": False}) == [
        "FallbackRole.Arn",
        "ReconcilerRole.Arn",
    ]
    assert users_of("FallbackQueue", "sqs:ReceiveMessage") == {"SenderFunction"}
    for action in (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:PurgeQueue",
    ):
        assert denied_unless(by_action[action], "ArnNotEquals") == get_att(
            role_of(TEMPLATE, "SenderFunction")
        )
    assert {role_of(TEMPLATE, function) for function in ("FallbackFunction", "SenderFunction")} == {
        "FallbackRole",
        "SenderRole",
    }
    # And a redrive's principals, named for one deploy, may send too (FallbackDLQ back into the queue)
    redrivers = {"FallbackRedrivePrincipals": ["arn:aws:iam::111122223333:role/ops"]}
    assert evaluate(send, redrivers, {"HasFallbackRedrivePrincipals": True}) == [
        "FallbackRole.Arn",
        "ReconcilerRole.Arn",
        "arn:aws:iam::111122223333:role/ops",
    ]
    # And nothing else: managing the queue (CloudFormation's updates) is left to IAM
    assert set(by_action) == {
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility", "sqs:PurgeQueue",
    }  # fmt: skip


def test_only_the_publisher_may_put_events_on_the_status_bus() -> None:
    # Given the status event bus's own policy
    bus = RESOURCES["StatusEventBus"]["Properties"]
    [deny] = bus["Policy"]["Statement"]
    # Then every principal but PublisherFunction's role is refused PutEvents on it, whatever its IAM
    # policies allow: no one else can forge a zns-relay event that producers act on
    assert denied_unless(deny, "ArnNotEquals") == get_att(role_of(TEMPLATE, "PublisherFunction"))
    assert deny["Action"] == "events:PutEvents"
    # And the statement names this bus, as the publisher's role does (by name: no dependency cycle)
    assert granted(TEMPLATE, "PublisherFunction")["events:PutEvents"] == [deny["Resource"]]
    assert deny["Resource"]["Fn::Sub"].endswith(f":event-bus/{bus['Name']['Fn::Sub']}")
    assert [function for function in FUNCTIONS if "events:PutEvents" in granted(TEMPLATE, function)] == [
        "PublisherFunction"
    ]


def test_the_callback_function_is_capped_and_its_failures_alarm() -> None:
    assert RESOURCES["CallbackFunction"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Ref": "CallbackConcurrency"
    }
    assert TEMPLATE.document["Parameters"]["CallbackConcurrency"]["MinValue"] >= 1
    alarms = {
        (properties["MetricName"], json.dumps(properties["Dimensions"])): properties
        for properties in TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
        if "MetricName" in properties  # not a metric-math alarm
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


def test_the_send_rate_is_a_whole_number_so_the_throttle_stays_ten_times_it() -> None:
    # The throttle appends a "0" to EsmsRateLimit: 1.5 would make it 1.50 a second, not 15
    spec = TEMPLATE.document["Parameters"]["EsmsRateLimit"]
    pattern = re.compile(spec["AllowedPattern"])
    assert pattern.fullmatch(spec["Default"])
    assert [value for value in ("1", "30", "999", "1000") if not pattern.fullmatch(value)] == []
    assert [value for value in ("0", "1.5", "30.0", "01", "1001", "", "-3") if pattern.fullmatch(value)] == []


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
