"""Whether the local stack's moto server keeps up with a soak: a deep queue drained under DynamoDB load.

Starts local.aws.server.MotoServer, creates template.yaml's queues and tables in it, publishes the
messages in batches of ten, then drains them with pollers shaped like the local SQS event source
(ReceiveMessage up to ten, WaitTimeSeconds 1, AttributeNames All, DeleteMessageBatch). Each message
costs what the sender spends on DynamoDB: a conditional claim and a conditional transition through
MessageStore, the records of one batch concurrently. Meanwhile other threads time conditional
UpdateItems on other items, and a full, paginated Scan of the table runs every few seconds.

Prints the drain rate over its first and last tenth, the moto server's CPU time per message (which,
unlike the rates, does not depend on what else the machine is doing), and UpdateItem latency with and
without a Scan in flight. `python -m bench.local_stack_throughput --messages 1000` runs a shorter soak.
To see where the server's time goes: `py-spy record --rate 10 --pid <the pid it prints>` alongside.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from bench.memory import cpu_seconds
from local.aws.resources import provision
from local.aws.server import MotoServer
from local.runtime.template import PSEUDO_PARAMETERS, Template
from zns_relay.models.state import MessageStatus
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import ClaimLost

MESSAGES = 5_000
BATCH_SIZE = 10
POLLERS = 5
WRITERS = 2
WRITER_PAUSE_SECONDS = 0.05  # each writer: at most ~20 UpdateItems a second, next to the senders' own
WRITER_ITEMS = 50
SCAN_INTERVAL_SECONDS = 2.0
STALL_SECONDS = 120.0  # no message deleted for this long: give up
TARGET_MESSAGES_PER_SECOND = 50.0
# This benchmark with moto 5.2.5 as shipped (commit 5ff0fed: one lock around every DynamoDB request),
# on the same 2-core machine, shared with other work (the CPU time per message does not depend on that).
BASELINE = (
    "publish 34 msg/s; drain 6.4 msg/s (first tenth 5.1, last tenth 7.6); moto server CPU 116 ms a message;"
    " UpdateItem p99 1.7 s without a Scan, 8.4 s during one; a full Scan 5.2 s; 11 messages delivered twice"
)


@dataclass(frozen=True)
class Interval:
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def overlaps_any(self, others: list[Interval]) -> bool:
        return any(self.started < other.ended and other.started < self.ended for other in others)


def timed(action: Callable[[], object]) -> Interval:
    started = time.perf_counter()
    action()
    return Interval(started, time.perf_counter())


@dataclass
class Observations:
    """What the threads saw; appended to from many threads (list.append is atomic)."""

    deletions: list[tuple[float, int]] = field(default_factory=list)  # (when, how many)
    updates: list[Interval] = field(default_factory=list)
    scans: list[Interval] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    progress: threading.Condition = field(default_factory=threading.Condition)

    def deleted(self, count: int) -> None:
        with self.progress:
            self.deletions.append((time.perf_counter(), count))
            self.progress.notify_all()

    def total_deleted(self) -> int:
        return sum(count for _, count in self.deletions)

    def rate_between(self, start: float, first: int, last: int) -> float:
        """Messages a second from the `first`-th deleted message (0: from `start`) to the `last`-th."""
        deleted, moments = 0, {0: start}
        for when, count in sorted(self.deletions):
            deleted += count
            for mark in (first, last):
                if deleted >= mark and mark not in moments:
                    moments[mark] = when
        return (last - first) / (moments[last] - moments[first])


class Soak:
    def __init__(self, endpoint: str, template: Template, messages: int, pollers: int) -> None:
        session = boto3.Session(
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name=PSEUDO_PARAMETERS["AWS::Region"],
        )
        config = Config(max_pool_connections=pollers * BATCH_SIZE + WRITERS + 8, retries={"max_attempts": 1})
        self.sqs: Any = session.client("sqs", endpoint_url=endpoint, config=config)
        self.dynamodb: Any = session.client("dynamodb", endpoint_url=endpoint, config=config)
        resolver = provision(template, session, endpoint_url=endpoint)
        self.queue_url = resolver.ref("SendQueue")
        self.table = resolver.ref("MessagesTable")
        self.store = MessageStore(self.table, self.dynamodb)
        self.messages = messages
        self.pollers = pollers
        self.seen = Observations()
        self.stopping = threading.Event()

    def publish(self) -> float:
        """Queue every message, ten to a SendMessageBatch; returns messages a second."""
        started = time.perf_counter()
        for first in range(0, self.messages, BATCH_SIZE):
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(_body(uuid.uuid4().hex))}
                for index in range(min(BATCH_SIZE, self.messages - first))
            ]
            failed = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"SendMessageBatch failed: {failed}")
        return self.messages / (time.perf_counter() - started)

    def drain(self) -> float:
        """Consume every message under the writers' and the scanner's load; returns when it started."""
        keys = [f"writer-{index}" for index in range(WRITER_ITEMS)]
        for key in keys:
            self.dynamodb.put_item(TableName=self.table, Item={"request_id": {"S": key}, "hits": {"N": "0"}})
        threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(self.pollers)]
        threads += [
            threading.Thread(target=self._write, args=(keys[index::WRITERS],), daemon=True)
            for index in range(WRITERS)
        ]
        threads.append(threading.Thread(target=self._scan, daemon=True))
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        with self.seen.progress:
            while self.seen.total_deleted() < self.messages:
                if not self.seen.progress.wait(STALL_SECONDS):
                    self.seen.errors.append(f"stalled at {self.seen.total_deleted()} messages")
                    break
        self.stopping.set()
        for thread in threads:
            thread.join()
        return started

    def _poll(self) -> None:
        with ThreadPoolExecutor(BATCH_SIZE) as records:
            while not self.stopping.is_set():
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=BATCH_SIZE,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    continue
                list(records.map(self._send, messages))
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                ]
                failed = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed")
                if failed:
                    self.seen.errors.append(f"DeleteMessageBatch failed: {failed}")
                self.seen.deleted(len(messages) - len(failed or []))

    def _send(self, message: dict[str, Any]) -> None:
        """The sender's DynamoDB work for one record: claim it, then record eSMS's acceptance."""
        request_id = json.loads(message["Body"])["RequestId"]
        fields = {"phone": "0901888484", "temp_id": "2056446"}
        check_at = int(time.time()) + 1800
        claim = self.store.claim(request_id, fields, lease_seconds=60, check_at=check_at)
        if isinstance(claim, ClaimLost):
            self.seen.errors.append(f"{request_id}: claim lost, the message was delivered twice")
            return
        accepted = {"sms_id": uuid.uuid4().hex}
        if not self.store.transition(
            request_id, MessageStatus.ACCEPTED, "accepted", accepted, claim=claim, check_at=check_at
        ):
            self.seen.errors.append(f"{request_id}: ACCEPTED refused")

    def _write(self, keys: list[str]) -> None:
        turn = 0
        while not self.stopping.wait(WRITER_PAUSE_SECONDS):
            key = keys[turn % len(keys)]
            turn += 1
            self.seen.updates.append(timed(writer_update(self.dynamodb, self.table, key)))

    def _scan(self) -> None:
        paginator = self.dynamodb.get_paginator("scan")
        while not self.stopping.wait(SCAN_INTERVAL_SECONDS):
            self.seen.scans.append(timed(lambda: sum(1 for _ in paginator.paginate(TableName=self.table))))


def writer_update(dynamodb: Any, table: str, key: str) -> Callable[[], object]:
    """One conditional UpdateItem of a writer's item, ready to time."""
    return lambda: dynamodb.update_item(
        TableName=table,
        Key={"request_id": {"S": key}},
        UpdateExpression="SET hits = hits + :one",
        ConditionExpression="attribute_exists(request_id)",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def _body(request_id: str) -> dict[str, Any]:
    return {
        "Phone": "0901888484",
        "TempID": "2056446",
        "TempData": {"otp": "123456"},
        "RequestId": request_id,
    }


def percentiles(intervals: list[Interval]) -> str:
    if len(intervals) < 2:
        return "n/a (too few samples)"
    cuts = statistics.quantiles([interval.seconds * 1000 for interval in intervals], n=100)
    return f"p50 {cuts[49]:7.1f} ms, p99 {cuts[98]:7.1f} ms ({len(intervals)} calls)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local_stack_throughput", description=__doc__)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--pollers", type=int, default=POLLERS)
    arguments = parser.parse_args(argv)
    messages = arguments.messages
    print(
        f"moto server soak: {messages} messages drained by {arguments.pollers} pollers (claim + transition"
        f" each), {WRITERS} UpdateItem writers, a full Scan every {SCAN_INTERVAL_SECONDS:.0f} s"
    )
    server = MotoServer().start()
    try:
        print(f"  moto server pid {server.pid}")
        soak = Soak(f"http://127.0.0.1:{server.port}", Template(), messages, arguments.pollers)
        print(f"  publish: {soak.publish():6.1f} msg/s")
        cpu_before = cpu_seconds(server.pid)
        started = soak.drain()
        cpu_after = cpu_seconds(server.pid)
    finally:
        server.stop()
    seen = soak.seen
    tenth = max(messages // 10, 1)
    first = last = 0.0
    if seen.total_deleted() >= messages:
        first, last = (
            seen.rate_between(started, 0, tenth),
            seen.rate_between(started, messages - tenth, messages),
        )
        overall = seen.rate_between(started, 0, messages)
        print(f"  drain:   {overall:6.1f} msg/s; first tenth {first:6.1f}, last tenth {last:6.1f}")
    else:
        print(f"  drain: incomplete, {seen.total_deleted()} of {messages} messages")
    if cpu_before is not None and cpu_after is not None:
        print(f"  moto server CPU: {(cpu_after - cpu_before) / messages * 1000:.1f} ms a message drained")
    quiet = [update for update in seen.updates if not update.overlaps_any(seen.scans)]
    scanning = [update for update in seen.updates if update.overlaps_any(seen.scans)]
    print(f"  UpdateItem, no Scan in flight: {percentiles(quiet)}")
    print(f"  UpdateItem, during a Scan:     {percentiles(scanning)}")
    if seen.scans:
        durations = [scan.seconds for scan in seen.scans]
        print(f"  full Scan: median {statistics.median(durations):.2f} s, max {max(durations):.2f} s")
    print(f"  errors: {len(seen.errors)}{''.join(f'; {error}' for error in seen.errors[:3])}")
    print(f"  before (moto as shipped): {BASELINE}")
    healthy = not seen.errors and min(first, last) >= TARGET_MESSAGES_PER_SECOND
    verdict = "OK" if healthy else "BELOW TARGET"
    print(
        f"  {verdict}: the target is {TARGET_MESSAGES_PER_SECOND:.0f} msg/s from start to end, without errors"
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
