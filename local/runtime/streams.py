"""Lambda's DynamoDB stream event source mapping, played locally: read the table's stream (moto), invoke
the function with batches of records shaped as Lambda shapes them, retry what failed.

Like the real mapping it reads from its StartingPosition, drops the records its FilterCriteria do not
match, hands the function up to BatchSize records in stream order and waits for the answer before the
next batch (one shard, one invocation at a time). A batch item failure makes it go on from the first
failed record (those before it are done); a failed invocation retries the whole batch. With
BisectBatchOnFunctionError each retry halves the batch; after MaximumRetryAttempts retries the failed
records are skipped and a record of them goes to the OnFailure queue, as Lambda's is.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from moto.events.models import EventPattern

from local.runtime.lambda_runtime import InvocationError

log = logging.getLogger("local.runtime.streams")
POLL_SECONDS = 1.0  # Lambda polls a shard four times a second; once is enough locally, and lighter on moto
READ_LIMIT = 1000  # GetRecords' most


class Invocable(Protocol):
    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass
class StreamSourceStats:
    invocations: int = 0
    records: int = 0
    retries: int = 0
    sent_to_destination: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class StreamMapping:
    """The DynamoDB event's properties that the local mapping honours (template.yaml's names)."""

    stream_arn: str
    function_arn: str
    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    filter_patterns: tuple[str, ...] = ()
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    max_retry_attempts: int = -1  # -1: until the record expires, as Lambda's default
    region: str = "ap-southeast-1"

    @classmethod
    def of(cls, properties: Mapping[str, Any], function_arn: str, region: str) -> StreamMapping:
        filters = properties.get("FilterCriteria", {}).get("Filters", [])
        return cls(
            stream_arn=properties["Stream"],
            function_arn=function_arn,
            batch_size=int(properties.get("BatchSize", 100)),
            starting_position=properties.get("StartingPosition", "TRIM_HORIZON"),
            filter_patterns=tuple(item["Pattern"] for item in filters),
            report_batch_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            max_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
            region=region,
        )


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One stream record as Lambda hands it to a function (GetRecords' record, plus where it came from)."""
    dynamodb = dict(record["dynamodb"])
    for image in ("OldImage", "NewImage"):
        if image in dynamodb:  # boto3 decoded its binaries; Lambda's event is JSON: base64
            dynamodb[image] = {
                name: {"B": base64.b64encode(value["B"]).decode("ascii")} if "B" in value else value
                for name, value in dynamodb[image].items()
            }
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


class DynamoDBStreamEventSource:
    """Polls one stream (moto keeps a table's stream in one shard) for one function."""

    def __init__(
        self,
        streams: Any,
        mapping: StreamMapping,
        function: Invocable,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._streams = streams
        self._mapping = mapping
        self._function = function
        self._on_failure = on_failure
        self._filters = [EventPattern(raw, json.loads(raw)) for raw in mapping.filter_patterns]
        self._iterator: str | None = None
        self._shard_id = ""
        self._buffer: list[dict[str, Any]] = []  # read, matched, not yet done: in stream order
        self._batch_limit = mapping.batch_size
        self._attempts = 0  # failed invocations of the batch at the buffer's head
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dynamodb-stream-poller", daemon=True)
        self.stats = StreamSourceStats()

    def start(self) -> DynamoDBStreamEventSource:
        self._open()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def poll_once(self) -> bool:
        """Read what is new and invoke the function with the next batch; False when there was none."""
        if self._iterator is None:
            self._open()
        if len(self._buffer) < self._mapping.batch_size:
            self._read()
        if not self._buffer:
            return False
        batch = self._buffer[: self._batch_limit]
        first_failed = self._invoke(batch)
        if first_failed is None:
            del self._buffer[: len(batch)]
            self._attempts, self._batch_limit = 0, self._mapping.batch_size
            return True
        del self._buffer[:first_failed]  # the records before the failed one are done
        failed = batch[first_failed:]
        self._attempts += 1
        if 0 <= self._mapping.max_retry_attempts < self._attempts:
            self._give_up(failed)
            del self._buffer[: len(failed)]
            self._attempts, self._batch_limit = 0, self._mapping.batch_size
        else:
            self.stats.add(retries=1)
            if self._mapping.bisect_on_error:
                self._batch_limit = max(1, len(failed) // 2)
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.poll_once()
            except Exception:  # the stack is shutting down, or moto hiccuped: poll again
                if not self._stopping.is_set():
                    log.exception("stream poll failed")
                busy = False
            if not busy:
                self._stopping.wait(POLL_SECONDS)

    def _open(self) -> None:
        description = self._streams.describe_stream(StreamArn=self._mapping.stream_arn)["StreamDescription"]
        self._shard_id = description["Shards"][0]["ShardId"]
        self._iterator = self._streams.get_shard_iterator(
            StreamArn=self._mapping.stream_arn,
            ShardId=self._shard_id,
            ShardIteratorType=self._mapping.starting_position,
        )["ShardIterator"]

    def _read(self) -> None:
        response = self._streams.get_records(ShardIterator=self._iterator, Limit=READ_LIMIT)
        self._iterator = response["NextShardIterator"]
        for raw in response.get("Records", []):
            record = lambda_record(raw, self._mapping.stream_arn, self._mapping.region)
            # Lambda matches a filter against the record as EventBridge matches a pattern against an event.
            if not self._filters or any(pattern.matches_event(record) for pattern in self._filters):  # type: ignore[arg-type]
                self._buffer.append(record)

    def _invoke(self, batch: Sequence[dict[str, Any]]) -> int | None:
        """Invoke with the batch; the position of its first failed record, None when all succeeded."""
        self.stats.add(invocations=1, records=len(batch))
        try:
            response = self._function.invoke({"Records": list(batch)})
        except InvocationError as error:
            log.warning("stream batch failed; retrying it: %s", error)
            return 0
        if not self._mapping.report_batch_item_failures:
            return None
        failures = (response or {}).get("batchItemFailures") or []
        if not failures:
            return None
        positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
        # An identifier that names no record of the batch fails the whole batch, as on Lambda.
        return min(positions.get(failure.get("itemIdentifier"), 0) for failure in failures)

    def _give_up(self, failed: Sequence[dict[str, Any]]) -> None:
        """Skip the records retries did not bring through, recording them where the mapping says."""
        first, last = failed[0]["dynamodb"], failed[-1]["dynamodb"]
        log.error("stream records skipped after %d attempts: %d records", self._attempts, len(failed))
        self.stats.add(sent_to_destination=len(failed))
        if self._on_failure is None:
            return
        self._on_failure(
            {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": self._mapping.function_arn,
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": self._attempts,
                },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "DDBStreamBatchInfo": {
                    "shardId": self._shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                    "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                    "batchSize": len(failed),
                    "streamArn": self._mapping.stream_arn,
                },
            }
        )


def _iso(epoch_seconds: float | None) -> str | None:
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
