"""SendDLQ back to SendQueue. On AWS: SQS's own message move task, followed until it ends. Locally
(moto has no move task): the same effect by hand, received, sent on and deleted ten at a time.

Moving a message cannot send it twice: the sender claims each RequestId before calling eSMS, and a
message that was already accepted, delivered or failed loses the claim and is dropped unsent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int, int], None]  # (moved so far, to move)
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class RedriveResult:
    status: str  # COMPLETED, FAILED, CANCELLED (as SQS's move task says)
    moved: int
    to_move: int
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "COMPLETED"


def queue_arn(sqs: Any, queue_url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def move_task(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    progress: Progress,
    *,
    rate: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RedriveResult:
    """StartMessageMoveTask from the DLQ to the queue, polled until it is no longer RUNNING."""
    source = queue_arn(sqs, dlq_url)
    arguments: dict[str, Any] = {"SourceArn": source, "DestinationArn": queue_arn(sqs, queue_url)}
    if rate:
        arguments["MaxNumberOfMessagesPerSecond"] = rate
    sqs.start_message_move_task(**arguments)
    while True:
        # The most recent task of the source comes first: the one just started.
        task = sqs.list_message_move_tasks(SourceArn=source, MaxResults=1)["Results"][0]
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        to_move = int(task.get("ApproximateNumberOfMessagesToMove", moved))
        progress(moved, to_move)
        if task["Status"] != "RUNNING":
            return RedriveResult(task["Status"], moved, to_move, task.get("FailureReason"))
        sleep(POLL_SECONDS)


def move_by_hand(sqs: Any, dlq_url: str, queue_url: str, to_move: int, progress: Progress) -> RedriveResult:
    """Receive from the DLQ, send to the queue, then delete from the DLQ what the queue took (`to_move`:
    the DLQ's depth as counted before)."""
    moved = 0
    progress(moved, to_move)
    while True:
        received = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return RedriveResult("COMPLETED", moved, max(to_move, moved))
        entries = [
            {"Id": str(index), "MessageBody": message["Body"]}
            | (
                {"MessageAttributes": message["MessageAttributes"]}
                if message.get("MessageAttributes")
                else {}
            )
            for index, message in enumerate(received)
        ]
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        accepted = {entry["Id"] for entry in sent.get("Successful", [])}
        if accepted:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(received)
                    if str(index) in accepted
                ],
            )
        moved += len(accepted)
        progress(moved, max(to_move, moved))
        if failed := sent.get("Failed"):
            reason = f"{failed[0].get('Code')}: {failed[0].get('Message')}"
            return RedriveResult("FAILED", moved, max(to_move, moved), reason)
