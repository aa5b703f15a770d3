"""Concurrency scenarios for moto in-process and in server mode (local/aws/patches: atomic, sqs).

Each returns what it observed, so the tests state the expectation; none depends on timing: threads are
released together by a barrier and run until their work is done.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

CONTENDERS = 8
EMPTY_POLLS_TO_STOP = 3


def together(*works: Callable[[], Any]) -> list[Any]:
    """Run each work in its own thread, all released at the same moment; their results (or exceptions)."""
    barrier = threading.Barrier(len(works))

    def released(work: Callable[[], Any]) -> Any:
        barrier.wait()
        return work()

    with ThreadPoolExecutor(len(works)) as pool:
        futures = [pool.submit(released, work) for work in works]
        return [future.result() for future in futures]


def claim_winners(dynamodb: Any, table: str, rounds: int) -> list[int]:
    """Per round, how many of CONTENDERS concurrent conditional writes creating one new item succeeded.

    Half the contenders use UpdateItem (as MessageStore.claim does), half PutItem.
    """

    def claim(key: dict[str, Any], mine: int) -> bool:
        try:
            if mine % 2:
                dynamodb.put_item(
                    TableName=table,
                    Item={**key, "owner": {"N": str(mine)}},
                    ConditionExpression="attribute_not_exists(request_id)",
                )
            else:
                dynamodb.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET #owner = :mine",
                    ConditionExpression="attribute_not_exists(request_id)",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":mine": {"N": str(mine)}},
                )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    winners = []
    for _ in range(rounds):
        key = {"request_id": {"S": f"claim-{uuid.uuid4().hex}"}}
        contenders = [functools.partial(claim, key, mine) for mine in range(CONTENDERS)]
        winners.append(sum(together(*contenders)))
    return winners


def rewrite_pair(dynamodb: Any, table: str, key: dict[str, Any], writes: int) -> None:
    """Set the item's `left` and `right` to 1, 2, ... `writes`, both in each write."""
    for value in range(1, writes + 1):
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #left = :value, #right = :value",
            ExpressionAttributeNames={"#left": "left", "#right": "right"},
            ExpressionAttributeValues={":value": {"N": str(value)}},
        )


def torn_reads(dynamodb: Any, table: str, writes: int, readers: int = 3) -> tuple[int, list[dict[str, Any]]]:
    """Rewrite one item's `left` and `right` together `writes` times while readers Scan and GetItem it.

    Returns how many reads saw the item, and every one that saw `left` and `right` differ (half a write).
    """
    key = {"request_id": {"S": f"torn-{uuid.uuid4().hex}"}}
    dynamodb.put_item(TableName=table, Item={**key, "left": {"N": "0"}, "right": {"N": "0"}})
    writing = threading.Event()
    writing.set()
    seen: list[dict[str, Any]] = []

    def write() -> None:
        try:
            rewrite_pair(dynamodb, table, key, writes)
        finally:
            writing.clear()

    def read(scan: bool) -> None:
        while writing.is_set():
            if scan:
                items = dynamodb.scan(TableName=table)["Items"]
            else:
                items = [dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]]
            seen.extend(item for item in items if item["request_id"] == key["request_id"])

    together(write, *(functools.partial(read, index % 2 == 0) for index in range(readers)))
    return len(seen), [item for item in seen if item["left"] != item["right"]]


def deliveries(sqs: Any, queue_url: str, messages: int, pollers: int = 5) -> Counter[str]:
    """Send `messages` while `pollers` receive and delete concurrently; how often each body was delivered.

    A poller stops once every body was delivered, or once the queue answered empty EMPTY_POLLS_TO_STOP
    long polls in a row after the last send (so a lost message ends the scenario instead of hanging it).
    """
    bodies = [f"message-{index}" for index in range(messages)]
    delivered: Counter[str] = Counter()
    lock = threading.Lock()
    sent = threading.Event()

    def send() -> None:
        for first in range(0, messages, 10):
            batch = bodies[first : first + 10]
            sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)],
            )
        sent.set()

    def poll() -> None:
        empty_polls = 0
        while empty_polls < EMPTY_POLLS_TO_STOP:
            with lock:
                if len(delivered) == messages:
                    return
            received = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
            empty_polls = empty_polls + 1 if not received and sent.is_set() else 0
            with lock:
                delivered.update(message["Body"] for message in received)
            if received:
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)
                ]
                failed = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")
                if failed:
                    raise AssertionError(f"DeleteMessageBatch refused {failed}")

    together(send, *([poll] * pollers))
    return delivered


def create_stream_table(dynamodb: Any, name: str) -> str:
    """A table keyed like MessagesTable with a NEW_AND_OLD_IMAGES stream; returns the stream's ARN."""
    description = dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return str(description["LatestStreamArn"])


def streamed_images(
    dynamodb: Any, streams: Any, table: str, stream_arn: str, writes: int
) -> list[dict[str, Any]]:
    """Rewrite one item's `left` and `right` together while GetRecords reads the stream; every record read.

    The reader reads until the writer is done and the shard has nothing more to give.
    """
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    writing = threading.Event()
    writing.set()
    records: list[dict[str, Any]] = []

    def write() -> None:
        try:
            key = {"request_id": {"S": f"streamed-{uuid.uuid4().hex}"}}
            dynamodb.put_item(TableName=table, Item={**key, "left": {"N": "0"}, "right": {"N": "0"}})
            rewrite_pair(dynamodb, table, key, writes)
        finally:
            writing.clear()

    def read() -> None:
        nonlocal iterator
        while True:
            was_writing = writing.is_set()
            response = streams.get_records(ShardIterator=iterator)
            records.extend(response["Records"])
            iterator = response["NextShardIterator"]
            if not was_writing and not response["Records"]:
                return

    together(write, read)
    return records
