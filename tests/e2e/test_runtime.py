"""Crash injection through the embedded stack: the real SenderFunction, its environments killed at each
point of a send, for the armed RequestId only. Sandbox messages: eSMS sends no callback for them, so
what a crash leaves behind stays as it left it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.runtime.lambda_runtime import RuntimeExited
from local.runtime.template import PSEUDO_PARAMETERS
from local.scenarios.crashes import CrashPoint
from local.stack import LocalStack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

# What each crash leaves: whether eSMS got the request, and the message's status.
LEFT_BEHIND = {
    CrashPoint.BEFORE_SEND: (False, "SENDING"),
    CrashPoint.MID_SEND: (True, "SENDING"),
    CrashPoint.AFTER_ANSWER: (True, "SENDING"),
    CrashPoint.AFTER_WRITE: (True, "ACCEPTED"),
}


@pytest.fixture(scope="module")
def function_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime") / "functions.log"


@pytest.fixture(scope="module")
def stack(function_log: Path) -> Iterator[LocalStack]:
    with LocalStack(function_output=function_log) as running:
        yield running


def body(request_id: str) -> str:
    return json.dumps(
        {
            "Phone": "0901888484",
            "TempID": "2056446",
            "TempData": {"otp": "1"},
            "RequestId": request_id,
            "Sandbox": "1",
        }
    )


def sqs_event(stack: LocalStack, request_id: str) -> dict[str, Any]:
    """One record, shaped as the SQS event source mapping hands it to the function."""
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"direct-{request_id}",
        "body": body(request_id),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": stack.resolver.get_att("SendQueue", "Arn"),
        "awsRegion": PSEUDO_PARAMETERS["AWS::Region"],
    }
    return {"Records": [record]}


def esms_requests(stack: LocalStack, request_id: str) -> list[dict[str, Any]]:
    return [request for request in stack.simulator.requests() if request["request_id"] == request_id]


@pytest.mark.parametrize("point", list(LEFT_BEHIND))
def test_an_armed_crash_kills_the_environment_at_its_point_for_its_request_id_only(
    stack: LocalStack, function_log: Path, point: CrashPoint
) -> None:
    assert stack.info is not None
    sender = stack.functions["SenderFunction"]
    target = f"crash-{point}"
    # Given a crash armed at this point for one RequestId
    stack.crashes.arm(point, request_id=target)

    # When another message is sent first, Then it goes through untouched
    assert sender.invoke(sqs_event(stack, f"bystander-{point}")) == {"batchItemFailures": []}
    # When the armed message is sent, Then its environment dies there and the invocation fails
    with pytest.raises(RuntimeExited, match="Runtime exited with error: signal: killed"):
        sender.invoke(sqs_event(stack, target))

    # And the crash is recorded once, for that point and RequestId, and said in the function's log
    [crash] = [crash for crash in stack.crashes.fired() if crash.request_id.endswith(point)]
    assert (crash.point, crash.request_id) == (point, target)
    assert f"[{crash.environment}] crash injected: {point} for RequestId {target}" in function_log.read_text()
    # And the message stands as a crash at that point leaves it
    reached_esms, status = LEFT_BEHIND[point]
    if reached_esms:
        assert wait_for(lambda: esms_requests(stack, target), timeout=10)
    else:
        assert esms_requests(stack, target) == []
    if point in {CrashPoint.AFTER_ANSWER, CrashPoint.AFTER_WRITE}:
        assert [request["code_result"] for request in esms_requests(stack, target)] == ["100"]
    assert stack.info.statuses()[target] == status
    # And the next message is sent by a new environment
    assert sender.invoke(sqs_event(stack, f"next-{point}")) == {"batchItemFailures": []}
    assert stack.info.statuses()[f"next-{point}"] == "ACCEPTED"


def test_a_crash_after_the_write_fails_the_batch_and_leaves_its_message_in_the_queue(
    stack: LocalStack,
) -> None:
    assert stack.info is not None
    info = stack.info
    sqs = info.client("sqs")
    # Given a crash armed after the result's write of a queued message
    stack.crashes.arm(CrashPoint.AFTER_WRITE, request_id="queued-crash")

    # When the SQS event source hands the message to the function
    sqs.send_message(QueueUrl=info.queue_url, MessageBody=body("queued-crash"))
    assert wait_for(lambda: sum(source.stats.errors for source in stack.event_sources), timeout=30)

    # Then the write stands, but the failed invocation deleted nothing: the message returns after its
    # visibility timeout, as with the real event source mapping
    assert [crash.request_id for crash in stack.crashes.fired()].count("queued-crash") == 1
    assert info.statuses()["queued-crash"] == "ACCEPTED"
    attributes = sqs.get_queue_attributes(
        QueueUrl=info.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
