"""Lambda's SQS event source mapping, played locally: poll, invoke in batches, delete what succeeded.

Like the real mapping it receives up to BatchSize messages, hands the function an SQS event of the
same shape, deletes the records not named in batchItemFailures, leaves the failed ones to their
visibility timeout (or whatever visibility the function set), lets the queue's redrive policy move
exhausted messages to the DLQ, and runs at most MaximumConcurrency invocations at once. An invocation
that fails (the handler raised, it timed out, its environment died) deletes nothing: the whole batch
returns after its visibility timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from local.runtime.lambda_runtime import ExecutionEnvironments, InvocationError

log = logging.getLogger("local.runtime.event_source")


@dataclass
class EventSourceStats:
    invocations: int = 0
    records: int = 0
    deleted: int = 0
    failed: int = 0
    errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class SqsEventSource:
    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        function: ExecutionEnvironments,
        batch_size: int,
        max_concurrency: int,
        region: str,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function = function
        self._batch_size = batch_size
        self._region = region
        self._stopping = threading.Event()
        self._pollers = [
            threading.Thread(target=self._poll, name=f"sqs-poller-{index}", daemon=True)
            for index in range(max_concurrency)
        ]
        self.stats = EventSourceStats()

    def start(self) -> SqsEventSource:
        for poller in self._pollers:
            poller.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for poller in self._pollers:
            poller.join(timeout=10)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:  # the stack is shutting down, or moto hiccuped: poll again
                if not self._stopping.is_set():
                    log.exception("receive failed")
                    time.sleep(0.5)
                continue
            if messages:
                self._invoke(messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        self.stats.add(invocations=1, records=len(messages))
        try:
            response = self._function.invoke(event)
        except Exception as error:
            # A function's failure is told by its log; a traceback only for a failure of ours.
            log.warning(
                "invocation failed; its %d messages return to the queue: %s",
                len(messages),
                error,
                exc_info=not isinstance(error, InvocationError),
            )
            self.stats.add(errors=1, failed=len(messages))
            return
        failed_ids = {failure["itemIdentifier"] for failure in (response or {}).get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed_ids]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )
        self.stats.add(deleted=len(done), failed=len(messages) - len(done))

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One record exactly as Lambda shapes it from an SQS message."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }
