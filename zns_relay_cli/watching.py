"""Following the status events live, as a producer hears them: a temporary EventBridge rule on the
stack's bus routes the chosen events to a temporary SQS queue, which is read until the watch ends; both
are removed on the way out (Ctrl-C included)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from zns_relay.models.events import EVENT_SOURCE
from zns_relay_cli.redrive import queue_arn

WAIT_SECONDS = 2  # each receive's long poll: short enough to notice --idle and Ctrl-C soon


def event_pattern(*, final_only: bool, request_id: str | None, campaign: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if final_only:
        detail["isFinal"] = [True]
    if request_id:
        detail["requestId"] = [request_id]
    if campaign:
        detail["campaign"] = [campaign]
    return {"source": [EVENT_SOURCE], **({"detail": detail} if detail else {})}


class StatusEventWatch:
    """`with StatusEventWatch(...) as watch: for event in watch.events(): ...`"""

    def __init__(self, events: Any, sqs: Any, bus_name: str, pattern: dict[str, Any]) -> None:
        self._events = events
        self._sqs = sqs
        self._bus = bus_name
        self._pattern = pattern
        self.name = f"zns-relay-watch-{uuid.uuid4().hex[:12]}"
        self._queue_url: str | None = None
        self._rule = False

    def __enter__(self) -> StatusEventWatch:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> None:
        self._queue_url = self._sqs.create_queue(QueueName=self.name)["QueueUrl"]
        target_arn = queue_arn(self._sqs, self._queue_url)
        rule_arn = self._events.put_rule(
            Name=self.name,
            EventBusName=self._bus,
            EventPattern=json.dumps(self._pattern),
            Description="zns-relay watch (temporary: removed when the watch ends)",
        )["RuleArn"]
        self._rule = True
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": target_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        self._sqs.set_queue_attributes(QueueUrl=self._queue_url, Attributes={"Policy": json.dumps(policy)})
        self._events.put_targets(
            Rule=self.name, EventBusName=self._bus, Targets=[{"Id": "watch", "Arn": target_arn}]
        )

    def events(
        self, idle_seconds: float | None = None, now: Callable[[], float] = time.monotonic
    ) -> Iterator[dict[str, Any]]:
        """The events as they come, each once; ends after `idle_seconds` without one (None: never)."""
        assert self._queue_url is not None, "use the watch in a with block"
        last = now()
        while idle_seconds is None or now() - last < idle_seconds:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=WAIT_SECONDS
            ).get("Messages", [])
            for message in messages:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
                yield json.loads(message["Body"])
            if messages:
                last = now()

    def close(self) -> None:
        """Remove the rule and the queue (what exists of them)."""
        if self._rule:
            self._events.remove_targets(Rule=self.name, EventBusName=self._bus, Ids=["watch"])
            self._events.delete_rule(Name=self.name, EventBusName=self._bus)
            self._rule = False
        if self._queue_url is not None:
            self._sqs.delete_queue(QueueUrl=self._queue_url)
            self._queue_url = None
