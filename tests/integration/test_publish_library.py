"""The publisher library (`zns_relay_client.publish`) as a producer's service uses it, on moto's SQS."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from zns_relay_client.publish import InvalidMessages, Publisher, validate


def message(n: int, **changes: Any) -> dict[str, Any]:
    return {"Phone": "0901888484", "TempID": "2056446", "TempData": {"otp": str(n)}, **changes}


def test_a_message_without_request_id_gets_one_and_the_result_says_so(
    deployment: Resolver, aws: boto3.Session, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a publisher made from any boto3 session
    publisher = Publisher(deployment.ref("SendQueue"), session=aws)

    # When a message without RequestId is published
    with caplog.at_level(logging.INFO, logger="zns_relay_client.publish"):
        sent = publisher.publish(message(1))

    # Then it went out with a RequestId made for it, which the result and a log line name
    assert (sent.ok, sent.request_id_generated) == (True, True)
    queued = aws.client("sqs").receive_message(QueueUrl=deployment.ref("SendQueue"))["Messages"][0]
    assert (json.loads(queued["Body"])["RequestId"], queued["MessageId"]) == (
        sent.request_id,
        sent.message_id,
    )
    assert sent.request_id in caplog.text


def test_many_go_in_batches_and_one_bad_message_stops_them_all(
    deployment: Resolver, aws: boto3.Session
) -> None:
    publisher = Publisher(deployment.ref("SendQueue"), client=aws.client("sqs"))
    messages = [message(n, RequestId=f"lib-{n}") for n in range(25)]

    with pytest.raises(InvalidMessages) as refused:
        publisher.publish_many([*messages, {**message(99), "phone": "0901888484"}])
    assert [problem.index for problem in refused.value.problems] == [25]

    results = publisher.publish_many(messages)
    assert [result.request_id for result in results if result.ok] == [f"lib-{n}" for n in range(25)]


def test_a_partial_batch_failure_is_returned_not_raised(deployment: Resolver, aws: boto3.Session) -> None:
    # Given an SQS that refuses one entry of the batch
    sqs = aws.client("sqs")

    def refuse_second(**request: Any) -> dict[str, Any]:
        entries = request["Entries"]
        answer = sqs.send_message_batch(QueueUrl=request["QueueUrl"], Entries=[entries[0]])
        failed = [{"Id": entries[1]["Id"], "Code": "InternalError", "SenderFault": False}]
        return {"Successful": answer["Successful"], "Failed": failed}

    class Refusing:
        send_message_batch = staticmethod(refuse_second)

    publisher = Publisher(deployment.ref("SendQueue"), client=Refusing())  # type: ignore[arg-type]

    # When two messages are published
    first, second = publisher.publish_many([message(1, RequestId="ok-1"), message(2, RequestId="refused-2")])

    # Then the refused one says why, and the other went out
    assert (first.ok, second.ok) == (True, False)
    assert second.error is not None and second.error.startswith("InternalError")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"phone": "0901888484"}, "phone"),
        ({"TempData": {"otp": ""}}, "empty value"),
        ({"SendDate": "2020-01-01 08:00:00"}, "SendDate: is in the past"),
        ({"RequestId": ".."}, "RequestId: must hold at least one letter or digit"),
        ({"campaignid": "autumn\x1b]0;owned\x07"}, "campaignid: must not contain control characters"),
    ],
)
def test_validate_refuses_what_the_sender_would_reject(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate(message(1, **changes))
