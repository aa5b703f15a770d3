"""The `zns-relay` command's AWS-only paths, on moto: finding a deployed stack by name from its
CloudFormation outputs and parameters, publishing to it (nothing from a file with a bad message), reading
its status API (the template's routes served by the local HTTP API in front of the real StatusFunction),
and the redrive through SQS's message move task (which moto lacks: botocore's Stubber checks each call
against the SQS API's model instead)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.stub import Stubber

from local.runtime.http_api import HttpApiServer, Route
from local.runtime.lambda_runtime import ExecutionEnvironments
from local.runtime.template import Resolver, Template
from tests.conftest import DEFAULT_OA_ID, LoadedFunction, load_function
from zns_relay.models.state import MessageStatus
from zns_relay.models.suppression import Suppression
from zns_relay.store.messages import MessageStore
from zns_relay.store.suppressions import Suppressions
from zns_relay_cli.app import main
from zns_relay_cli.deployment import Choice, resolve
from zns_relay_cli.local_state import STATE_ENV
from zns_relay_cli.redrive import move_task, queue_depth

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

STACK = "zns-relay-prod"
REGION = "ap-southeast-1"
ESMS_URL = "https://rest.esms.vn/MainService.svc/json"
TEMPLATE = Template()
CHECK_AT = 4102444800


def create_stack(aws: boto3.Session, deployment: Resolver, status_api_url: str) -> None:
    """A CloudFormation stack whose outputs and parameters name the template's resources in moto."""
    outputs = {
        "SendQueueUrl": deployment.ref("SendQueue"),
        "SendDLQUrl": deployment.ref("SendDLQ"),
        "StatusApiUrl": status_api_url,
        "StatusEventBusName": deployment.ref("StatusEventBus"),
        "EsmsSecretArn": deployment.ref("EsmsSecret"),
        "ThrottleTableName": deployment.ref("ThrottleTable"),
    }
    template = {
        "Parameters": {
            "EsmsBaseUrl": {"Type": "String"},
            "DefaultOaId": {"Type": "String"},
        },
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    aws.client("cloudformation").create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "EsmsBaseUrl", "ParameterValue": ESMS_URL},
            {"ParameterKey": "DefaultOaId", "ParameterValue": DEFAULT_OA_ID},
        ],
    )


@pytest.fixture
def stack(
    deployment: Resolver, aws: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Resolver:
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "no-local-stack"))  # a developer's `up` is not found
    create_stack(aws, deployment, "https://abc123.execute-api.ap-southeast-1.amazonaws.com")
    return deployment


class RoutedFunction:
    """StatusFunction, noting the route of each request it answers."""

    def __init__(self, function: LoadedFunction) -> None:
        self._function = function
        self.routes: list[str] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.routes.append(event["routeKey"])
        return self._function.invoke(event)


@pytest.fixture
def status_function(deployment: Resolver, monkeypatch: pytest.MonkeyPatch) -> RoutedFunction:
    return RoutedFunction(load_function("StatusFunction", deployment, monkeypatch, {}))


@pytest.fixture
def status_api(status_function: RoutedFunction) -> Iterator[HttpApiServer]:
    """The template's status routes (AWS_IAM: a signed request only) before the real StatusFunction."""
    api = HttpApiServer()
    for event in TEMPLATE.function("StatusFunction").events.values():
        route = event["Properties"]
        api.routes.append(
            Route(
                route["Method"],
                route["Path"],
                cast(ExecutionEnvironments, status_function),
                TEMPLATE.route_authorizer(route),
            )
        )
    yield api.start()
    api.stop()


@pytest.fixture
def served_stack(
    deployment: Resolver,
    aws: boto3.Session,
    status_api: HttpApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Resolver:
    """A stack whose StatusApiUrl is the status API above."""
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "no-local-stack"))
    create_stack(aws, deployment, f"http://127.0.0.1:{status_api.port}")
    return deployment


def test_a_deployed_stack_is_found_by_name_from_its_outputs_and_parameters(stack: Resolver) -> None:
    found = resolve(Choice(stack=STACK, region=REGION))

    assert (found.name, found.region, found.local) == (STACK, REGION, False)
    assert (found.queue_url, found.dlq_url) == (stack.ref("SendQueue"), stack.ref("SendDLQ"))
    assert (found.esms_base_url, found.default_oa_id) == (ESMS_URL, DEFAULT_OA_ID)


def test_an_unknown_stack_is_exit_3_with_the_region_it_looked_in(
    stack: Resolver, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--stack", "no-such-stack", "--region", REGION, "status", "x"])

    assert code == 3
    assert (
        capsys.readouterr().err.strip()
        == f"error: no stack no-such-stack in {REGION}: check --stack and --region"
    )


def test_a_broken_samconfig_or_a_binary_secret_is_one_line_not_a_traceback(
    stack: Resolver,
    aws: boto3.Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a samconfig.toml that is not TOML where the command looks for its stack name
    (tmp_path / "samconfig.toml").write_text("version = [\n")
    monkeypatch.chdir(tmp_path)

    code = main(["status", "x"])

    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "samconfig.toml is not valid TOML" in line

    # And (samconfig.toml mended) an eSMS secret stored as binary, read by `balance`
    (tmp_path / "samconfig.toml").unlink()
    aws.client("secretsmanager").put_secret_value(SecretId=stack.ref("EsmsSecret"), SecretBinary=b"\x00")

    code = main(["--stack", STACK, "--region", REGION, "balance"])

    assert code == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: the eSMS secret is not JSON: it must hold ApiKey and SecretKey"
    )


def test_suppressions_are_listed_and_cleared_in_the_stacks_throttle_table(
    stack: Resolver, aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two refusals the relay learnt: one of a whole OA, one of a template of another OA
    kept = Suppressions(stack.ref("ThrottleTable"), aws.client("dynamodb"))
    kept.record(Suppression("oa-1", "0901888484", None, -141, "2026-12-06T08:00:00.000Z", "otp-1"))
    kept.record(Suppression("oa-2", "0901888484", "267247", -139, "2026-12-06T09:00:00.000Z", "otp-2"))
    on_stack = ["--stack", STACK, "--region", REGION]

    # When they are listed by OA and phone (the phone in another form)
    assert (
        main([*on_stack, "suppressions", "list", "--oa", "oa-2", "--phone", "+84 901 888 484", "--json"]) == 0
    )

    # Then the one of that OA is shown
    assert json.loads(capsys.readouterr().out) == [
        {"oaId": "oa-2", "phone": "0901888484", "tempId": "267247", "zaloCode": -139,
         "since": "2026-12-06T09:00:00.000Z", "requestId": "otp-2"}
    ]  # fmt: skip

    # And clearing the OA's refusal forgets it, and only it; clearing it again is exit 3, in one line
    assert main([*on_stack, "suppressions", "clear", "--oa", "oa-1", "--phone", "0901888484"]) == 0
    assert [record.oa_id for record in kept.listed()] == ["oa-2"]
    capsys.readouterr()
    assert main([*on_stack, "suppressions", "clear", "--oa", "oa-1", "--phone", "0901888484"]) == 3
    assert capsys.readouterr().err.strip() == "error: no suppression of OA oa-1 for 0901888484"

    # And a phone that is not one is a usage error, in one line
    assert main([*on_stack, "suppressions", "list", "--phone", "12"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: --phone 12: not a Vietnamese mobile number")


def test_send_publishes_a_file_to_the_stacks_queue_and_nothing_from_a_bad_one(
    stack: Resolver, aws: boto3.Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given twelve good messages (two batches), then the same with a past SendDate on line 7
    sqs = aws.client("sqs")
    queue_url = stack.ref("SendQueue")
    messages = [
        {"Phone": "0901888484", "TempID": "2056446", "TempData": {"otp": str(n)}, "RequestId": f"aws-{n}"}
        for n in range(12)
    ]
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text("".join(json.dumps(m) + "\n" for m in messages))
    messages[6]["SendDate"] = "2020-01-01 08:00:00"
    bad.write_text("".join(json.dumps(m) + "\n" for m in messages))

    # When the bad file is sent, then the good one
    refused = main(["--stack", STACK, "--region", REGION, "send", "--file", str(bad), "--json"])
    refusal = json.loads(capsys.readouterr().out)
    after_refusal = queue_depth(sqs, queue_url)
    sent = main(["--stack", STACK, "--region", REGION, "send", "--file", str(good), "--json"])

    # Then the bad file sent nothing and named its line; the good one is all on the queue
    assert (refused, refusal["invalid"][0]["line"], after_refusal) == (2, 7, 0)
    assert "SendDate: is in the past" in refusal["invalid"][0]["reason"]
    assert sent == 0
    assert [m["requestId"] for m in json.loads(capsys.readouterr().out)["messages"]] == [
        f"aws-{n}" for n in range(12)
    ]
    assert queue_depth(sqs, queue_url) == 12


def test_list_and_status_read_the_stacks_status_api_by_its_routes(
    served_stack: Resolver,
    status_function: RoutedFunction,
    aws: boto3.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a message of autumn-sale to 0901888484 delivered, and one of winter-sale to another phone
    store = MessageStore(served_stack.ref("MessagesTable"), aws.client("dynamodb"))
    for request_id, phone, campaign in (
        ("a-1", "0901888484", "autumn-sale"),
        ("w-1", "0351234567", "winter-sale"),
    ):
        store.claim(
            request_id, {"phone": phone, "campaign_id": campaign}, lease_seconds=60, check_at=CHECK_AT
        )
    store.transition("a-1", MessageStatus.DELIVERED, "delivered", check_at=CHECK_AT)

    def listed(*arguments: str) -> list[str]:
        assert main(["--stack", STACK, "--region", REGION, "list", *arguments, "--json"]) == 0
        return [message["requestId"] for message in json.loads(capsys.readouterr().out)]

    # When the command lists by phone (in another form), campaign and status, and shows one message
    by_phone = listed("--phone", "+84 90 188 8484", "--since", "2020-01-01T00:00:00+07:00")
    by_campaign = listed("--campaign", "autumn-sale")
    by_status = listed("--status", "delivered")
    shown = main(["--stack", STACK, "--region", REGION, "status", "a-1", "--json"])

    # Then each finds the first message only, through the route of its kind (signed: the API refuses
    # anything else)
    assert by_phone == by_campaign == by_status == ["a-1"]
    assert status_function.routes == [
        "GET /phones/{phone}/messages",
        "GET /campaigns/{campaign}/messages",
        "GET /statuses/{status}/messages",
        "GET /messages/{request_id}",
    ]
    assert shown == 0
    assert [entry["status"] for entry in json.loads(capsys.readouterr().out)["history"]] == [
        "SENDING",
        "DELIVERED",
    ]


def test_a_list_the_status_api_has_no_route_for_is_an_error_not_an_empty_list(
    served_stack: Resolver, capsys: pytest.CaptureFixture[str]
) -> None:
    # A campaign name with a slash: HTTP API decodes %2F, and no route has that many segments
    code = main(["--stack", STACK, "--region", REGION, "list", "--campaign", "autumn/sale"])

    assert code == 1
    assert capsys.readouterr().err.startswith(
        "error: the status API has no list at /campaigns/autumn%2Fsale/messages"
    )


@pytest.fixture
def stubbed_sqs() -> Iterator[tuple[SQSClient, Stubber]]:
    client = boto3.client("sqs", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber


def test_redrive_on_aws_starts_sqs_move_task_and_follows_it_to_the_end(
    stubbed_sqs: tuple[SQSClient, Stubber],
) -> None:
    # Given SQS answering a move task that runs, then completes
    client, stubber = stubbed_sqs
    dlq_url = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/SendDLQ"
    queue_url = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/SendQueue"
    dlq_arn, queue_arn = (
        "arn:aws:sqs:ap-southeast-1:123456789012:SendDLQ",
        "arn:aws:sqs:ap-southeast-1:123456789012:SendQueue",
    )
    for url, arn in ((dlq_url, dlq_arn), (queue_url, queue_arn)):
        stubber.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": arn}},
            {"QueueUrl": url, "AttributeNames": ["QueueArn"]},
        )
    stubber.add_response(
        "start_message_move_task",
        {"TaskHandle": "handle"},
        {"SourceArn": dlq_arn, "DestinationArn": queue_arn, "MaxNumberOfMessagesPerSecond": 5},
    )
    for status, moved in (("RUNNING", 3), ("COMPLETED", 7)):
        stubber.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {
                        "Status": status,
                        "SourceArn": dlq_arn,
                        "ApproximateNumberOfMessagesMoved": moved,
                        "ApproximateNumberOfMessagesToMove": 7,
                    }
                ]
            },
            {"SourceArn": dlq_arn, "MaxResults": 1},
        )
    seen: list[tuple[int, int]] = []

    # When the redrive runs
    result = move_task(
        client,
        dlq_url,
        queue_url,
        lambda moved, total: seen.append((moved, total)),
        rate=5,
        sleep=lambda _: None,
    )

    # Then it followed the task to its end, reporting progress on the way
    assert (result.status, result.moved, result.to_move, result.ok) == ("COMPLETED", 7, 7, True)
    assert seen == [(3, 7), (7, 7)]
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("count", "said"),
    [(1, "the message keeps the contract"), (2, "all 2 messages keep the contract")],
)
def test_a_dry_run_says_what_it_checked_in_good_english(
    stack: Resolver,
    aws: boto3.Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    count: int,
    said: str,
) -> None:
    # Given a file of one message, or of two
    message = {"Phone": "0901888484", "TempID": "2056446", "TempData": {"otp": "1"}}
    path = tmp_path / "messages.jsonl"
    path.write_text((json.dumps(message) + "\n") * count)

    # When it is checked by a dry run
    code = main(["--stack", STACK, "--region", REGION, "send", "--file", str(path), "--dry-run"])

    # Then the line counts in words ("all 1 messages" was said), and nothing is sent
    assert code == 0
    printed = capsys.readouterr()
    assert f"{said}; nothing sent (--dry-run)" in printed.out
    assert queue_depth(aws.client("sqs"), stack.ref("SendQueue")) == 0
    # And the command says what it did not check, and which command does
    [hint] = [line for line in printed.err.splitlines() if "zns-relay check" in line]
    assert hint.startswith("TempData is checked against the contract, not its template")
