"""The local stack's plays of what AWS runs for outcomes: the DynamoDB stream event source mapping (on
moto) and the HTTP API's AWS_IAM routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.config import Config

from local.runtime.http_api import HttpApiServer, Route
from local.runtime.lambda_runtime import ExecutionEnvironments, FunctionError
from local.runtime.streams import DynamoDBStreamEventSource, StreamMapping
from local.runtime.template import Resolver
from tests.support.outcomes import plain_get, signed_get

INSERT_OR_MODIFY = '{"eventName": ["INSERT", "MODIFY"]}'


class FakeFunction:
    """Records each event; `answer` says what each invocation returns (or raises)."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any] = lambda _: None) -> None:
        self.events: list[dict[str, Any]] = []
        self._answer = answer

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self._answer(event)

    def batches(self) -> list[list[str]]:
        """Each invocation's records, as the request ids of their new (or old) images."""
        return [
            [
                (record["dynamodb"].get("NewImage") or record["dynamodb"]["OldImage"])["request_id"]["S"]
                for record in event["Records"]
            ]
            for event in self.events
        ]


@pytest.fixture
def table(aws: boto3.Session, deployment: Resolver) -> Any:
    return aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))


def source(
    aws: boto3.Session,
    deployment: Resolver,
    function: FakeFunction,
    failures: list[dict[str, Any]] | None = None,
    **properties: Any,
) -> DynamoDBStreamEventSource:
    stream_arn = deployment.get_att("MessagesTable", "StreamArn")
    mapping = StreamMapping.of({"Stream": stream_arn, **properties}, "arn:aws:lambda:fn", "ap-southeast-1")
    streams = aws.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    return DynamoDBStreamEventSource(
        streams, mapping, function, failures.append if failures is not None else None
    )


def put(table: Any, *request_ids: str) -> None:
    for request_id in request_ids:
        table.put_item(Item={"request_id": request_id, "status": "SENDING"})


def poll_all(stream_source: DynamoDBStreamEventSource) -> None:
    while stream_source.poll_once():
        pass


def test_records_come_in_stream_order_in_batches_shaped_as_lambdas_and_filtered(
    aws: boto3.Session, deployment: Resolver, table: Any
) -> None:
    # Given five writes and a deletion (which the filter leaves out)
    put(table, "a", "b", "c", "d", "e")
    table.delete_item(Key={"request_id": "b"})
    function = FakeFunction()

    # When the mapping polls with batches of two
    poll_all(
        source(
            aws,
            deployment,
            function,
            BatchSize=2,
            FilterCriteria={"Filters": [{"Pattern": INSERT_OR_MODIFY}]},
        )
    )

    # Then the function got the inserts in order, two at a time, as Lambda shapes stream records
    assert function.batches() == [["a", "b"], ["c", "d"], ["e"]]
    record = function.events[0]["Records"][0]
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == deployment.get_att("MessagesTable", "StreamArn")
    assert record["awsRegion"] == "ap-southeast-1"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_a_batch_item_failure_is_retried_from_the_failed_record_on(
    aws: boto3.Session, deployment: Resolver, table: Any
) -> None:
    # Given a function that fails record "c" the first time it sees it
    put(table, "a", "b", "c", "d")
    seen: set[str] = set()

    def fail_c_once(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            if record["dynamodb"]["NewImage"]["request_id"]["S"] == "c" and "c" not in seen:
                seen.add("c")
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    function = FakeFunction(fail_c_once)

    poll_all(
        source(aws, deployment, function, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    )

    assert function.batches() == [["a", "b", "c", "d"], ["c", "d"]]


def test_a_batch_that_keeps_failing_is_bisected_then_skipped_to_the_on_failure_destination(
    aws: boto3.Session, deployment: Resolver, table: Any
) -> None:
    # Given a function that fails every invocation holding "b"
    put(table, "a", "b", "c", "d")

    def fail_on_b(event: dict[str, Any]) -> None:
        if any(r["dynamodb"]["NewImage"]["request_id"]["S"] == "b" for r in event["Records"]):
            raise FunctionError("RuntimeError", "b is poison")

    function = FakeFunction(fail_on_b)
    failures: list[dict[str, Any]] = []

    poll_all(
        source(
            aws,
            deployment,
            function,
            failures,
            BatchSize=4,
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=2,
        )
    )

    # Then each retry halves the batch, "a" gets through, "b" is given up after two retries, the rest go on
    assert function.batches() == [
        ["a", "b", "c", "d"],
        ["a", "b"],
        ["a"],
        ["b", "c", "d"],
        ["b"],
        ["b"],
        ["c", "d"],
    ]
    [failure] = failures
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["streamArn"] == deployment.get_att("MessagesTable", "StreamArn")


@pytest.fixture
def iam_api() -> Iterator[tuple[HttpApiServer, FakeFunction]]:
    function = FakeFunction(lambda event: {"statusCode": 200, "body": "{}"})
    api = HttpApiServer()
    api.routes.append(
        Route("GET", "/messages/{request_id}", cast(ExecutionEnvironments, function), "AWS_IAM")
    )
    api.start()
    yield api, function
    api.stop()


def test_an_iam_route_refuses_an_unsigned_request_as_api_gateway_does(
    iam_api: tuple[HttpApiServer, FakeFunction],
) -> None:
    api, function = iam_api
    url = f"http://127.0.0.1:{api.port}/messages/r-1"

    assert plain_get(url) == (403, {"message": "Forbidden"})
    assert plain_get(url, {"Authorization": "Bearer abc"}) == (403, {"message": "Forbidden"})
    assert function.events == []


def test_an_iam_route_passes_a_signed_request_with_the_callers_identity(
    iam_api: tuple[HttpApiServer, FakeFunction],
) -> None:
    api, function = iam_api

    assert signed_get(f"http://127.0.0.1:{api.port}/messages/r-1") == (200, {})

    [event] = function.events
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "AKIDPRODUCER"
    assert event["pathParameters"] == {"request_id": "r-1"}


def test_a_route_matches_the_decoded_path_and_the_function_gets_it_decoded_as_http_api_gives_it(
    iam_api: tuple[HttpApiServer, FakeFunction],
) -> None:
    # Given the phone list's route (a phone in any form, escaped by the caller)
    api, function = iam_api
    api.routes.append(
        Route("GET", "/phones/{phone}/messages", cast(ExecutionEnvironments, function), "AWS_IAM")
    )

    # When a signed request names +84 90 188 8484, and an unsigned one any phone
    assert signed_get(f"http://127.0.0.1:{api.port}/phones/%2B84%2090%20188%208484/messages?limit=5") == (
        200,
        {},
    )
    assert plain_get(f"http://127.0.0.1:{api.port}/phones/0901888484/messages") == (
        403,
        {"message": "Forbidden"},
    )

    # Then the function got the signed one, its path and parameter decoded, its query string as sent
    [event] = function.events
    assert (event["routeKey"], event["rawPath"], event["pathParameters"]) == (
        "GET /phones/{phone}/messages",
        "/phones/+84 90 188 8484/messages",
        {"phone": "+84 90 188 8484"},
    )
    assert (event["rawQueryString"], event["queryStringParameters"]) == ("limit=5", {"limit": "5"})
