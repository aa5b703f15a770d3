"""Watching the status event bus locally: a catch-all rule (moto's EventBridge) to a queue of the stack's
own, and `python -m local events`, which reads that queue and prints each event as it comes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from zns_relay.models.events import EVENT_SOURCE

WATCH_RULE = "zns-relay-local-watch"
WATCH_QUEUE = "zns-relay-local-StatusEventsWatch"


def watch_events(events: Any, sqs: Any, bus_name: str) -> str:
    """Route every event of the bus to a queue (from now on), as a producer's rule would; its URL."""
    queue_url: str = sqs.create_queue(QueueName=WATCH_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=WATCH_RULE, EventBusName=bus_name, EventPattern=json.dumps({"source": [EVENT_SOURCE]})
    )
    events.put_targets(Rule=WATCH_RULE, EventBusName=bus_name, Targets=[{"Id": "watch", "Arn": queue_arn}])
    return queue_url


def received_events(
    sqs: Any, queue_url: str, *, idle_seconds: float | None, now: Callable[[], float] = time.monotonic
) -> Iterator[dict[str, Any]]:
    """The events arriving on the queue, each taken off it; ends after `idle_seconds` without one
    (None: never)."""
    last = now()
    while idle_seconds is None or now() - last < idle_seconds:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            # Deleted before it is handed over: a reader that stops after it never sees it again.
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            yield json.loads(message["Body"])
        if messages:
            last = now()


def event_line(event: dict[str, Any]) -> str:
    """One line per event: when, which message, from which status to which, and why."""
    detail = event["detail"]
    change = f"{detail.get('previousStatus') or '(new)'} -> {detail['status']}"
    final = " (final)" if detail.get("isFinal") else ""
    reason = f"  {detail['reason']}" if detail.get("reason") else ""
    return f"{detail['time']}  {detail['requestId']:<24} {change:<22}{final}{reason}"
