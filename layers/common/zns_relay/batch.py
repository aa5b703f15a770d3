"""SQS batches with partial batch responses: the records of one invocation handled concurrently, the
failed ones named in `batchItemFailures` for SQS to hand back (ReportBatchItemFailures).

Powertools' batch utility does the same, but importing it imports every event data class (and, with
pydantic imported before it, builds its parser's models): an SQS record is a few keys of a dict.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


@dataclass(frozen=True)
class SqsRecord:
    """What the sender reads of an SQS event record."""

    message_id: str
    receipt_handle: str
    body: str
    event_source_arn: str
    receive_count: int  # ApproximateReceiveCount: 1 the first time
    sent_at: datetime  # SentTimestamp: when the message entered the queue

    @classmethod
    def from_event(cls, record: dict[str, Any]) -> SqsRecord:
        attributes = record["attributes"]
        return cls(
            message_id=record["messageId"],
            receipt_handle=record["receiptHandle"],
            body=record["body"],
            event_source_arn=record["eventSourceARN"],
            receive_count=int(attributes["ApproximateReceiveCount"]),
            sent_at=datetime.fromtimestamp(int(attributes["SentTimestamp"]) / 1000, UTC),
        )


class ConcurrentBatchProcessor:
    """Handles an SQS event's records on a thread pool; a record whose handler raises is a failure.

    A batch of ten eSMS sends then costs about one round trip instead of ten. The record handler must
    be thread-safe. The pool lives as long as the execution environment: its threads are started once,
    not per batch. With one worker (or one record) the records run in the calling thread.
    """

    def __init__(self, max_workers: int) -> None:
        self._pool = (
            ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="send")
            if max_workers > 1
            else None
        )

    def process(
        self, event: dict[str, Any], record_handler: Callable[[SqsRecord], object]
    ) -> PartialItemFailureResponse:
        """The partial batch response: every record that failed, by message id. A batch that failed as a
        whole is answered the same way (not raised): its failures are expected (eSMS down, throttling)
        and already have their backoff set."""
        records = event.get("Records")
        if not isinstance(records, list):
            raise ValueError("not an SQS event: no Records list")

        def succeeded(record: dict[str, Any]) -> bool:
            try:
                record_handler(SqsRecord.from_event(record))
            except Exception:  # what the handler raises hands the record back to SQS
                return False
            return True

        outcomes: Iterable[bool] = (
            map(succeeded, records)
            if self._pool is None or len(records) <= 1
            else self._pool.map(succeeded, records)
        )
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record, ok in zip(records, list(outcomes), strict=True)
                if not ok
            ]
        }
