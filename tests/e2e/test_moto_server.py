"""The local stack's moto server process: atomic DynamoDB writes, whole reads, SQS once, kept connections."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.aws.resources import provision
from local.aws.server import MotoServer
from local.runtime.template import PSEUDO_PARAMETERS, Resolver, Template
from tests.support.moto_concurrency import (
    claim_winners,
    create_stream_table,
    deliveries,
    streamed_images,
    torn_reads,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    running = MotoServer().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=PSEUDO_PARAMETERS["AWS::Region"],
    )


@pytest.fixture(scope="module")
def endpoint(server: MotoServer) -> str:
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def deployment(session: boto3.Session, endpoint: str) -> Resolver:
    return provision(Template(), session, endpoint_url=endpoint)


@pytest.fixture(scope="module")
def dynamodb(session: boto3.Session, endpoint: str) -> Any:
    return session.client("dynamodb", endpoint_url=endpoint)


def test_concurrent_conditional_writes_of_one_new_item_have_exactly_one_winner(
    dynamodb: Any, deployment: Resolver
) -> None:
    # Given eight clients creating the same item at the same moment, each only if it does not exist yet
    # When they race, round after round
    winners = claim_winners(dynamodb, deployment.ref("MessagesTable"), rounds=10)

    # Then each round has exactly one winner, as on DynamoDB
    assert winners == [1] * 10


def test_scans_and_reads_never_see_half_an_update(dynamodb: Any, deployment: Resolver) -> None:
    # Given an item whose two attributes every update sets to the same new value
    # When Scans and GetItems read it while the updates run
    reads, torn = torn_reads(dynamodb, deployment.ref("MessagesTable"), writes=60)

    # Then every read saw both attributes from the same update
    assert reads > 0
    assert torn == []


def test_stream_records_carry_whole_images_in_order(
    session: boto3.Session, endpoint: str, dynamodb: Any
) -> None:
    # Given a table with a stream, and GetRecords reading it while an item is updated again and again
    stream_arn = create_stream_table(dynamodb, "streamed")
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    records = streamed_images(dynamodb, streams, "streamed", stream_arn, writes=40)

    # Then the stream holds every write once, in order, each image whole
    assert len(records) == 41
    sequence = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    assert sequence == sorted(set(sequence))
    images = [record["dynamodb"]["NewImage"] for record in records]
    assert [image["left"] for image in images] == [image["right"] for image in images]


def test_concurrent_pollers_receive_each_message_exactly_once(session: boto3.Session, endpoint: str) -> None:
    # Given a queue that five pollers receive from and delete from while messages are being sent
    sqs = session.client("sqs", endpoint_url=endpoint)
    queue_url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]

    # When 300 messages go through it
    delivered = deliveries(sqs, queue_url, messages=300, pollers=5)

    # Then each was delivered once: none lost, none twice
    assert delivered == Counter({f"message-{index}": 1 for index in range(300)})


def test_one_connection_serves_request_after_request(server: MotoServer, deployment: Resolver) -> None:
    # Given one HTTP/1.1 connection to the server
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    credential = "testing/20260101/ap-southeast-1/sqs/aws4_request"
    headers = {
        "X-Amz-Target": "AmazonSQS.GetQueueAttributes",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=x",
    }
    body = json.dumps({"QueueUrl": deployment.ref("SendQueue"), "AttributeNames": ["QueueArn"]})
    statuses, local_ports = [], []
    try:
        # When it sends three requests, one after the other
        for _ in range(3):
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            statuses.append(response.status)
            response.read()
            # http.client drops the socket once an answer says "Connection: close"
            local_ports.append(connection.sock.getsockname()[1] if connection.sock is not None else None)
    finally:
        connection.close()

    # Then all three are answered on that one connection, which the server keeps open
    assert statuses == [200, 200, 200]
    assert local_ports[0] is not None
    assert local_ports == [local_ports[0]] * 3
