"""Test kit for outcome events and the status API on moto: the table's stream as Lambda would deliver it,
a queue that hears every event of the bus, an advancing clock, SigV4-signed requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from local.runtime.streams import lambda_record
from local.runtime.template import ROOT, Resolver, Template

EXAMPLE_RULE = ROOT / "examples" / "final-events-to-queue.yaml"


class TableStream:
    """MessagesTable's change stream, read from its start: each call gives what came since the last."""

    def __init__(self, session: boto3.Session, deployment: Resolver) -> None:
        # moto answers DynamoDB Streams on the regional endpoint, not the account-based one.
        self._client = session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        self._arn = deployment.get_att("MessagesTable", "StreamArn")
        shard = self._client.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"][0]
        self._iterator = self._client.get_shard_iterator(
            StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def new_records(self) -> list[dict[str, Any]]:
        response = self._client.get_records(ShardIterator=self._iterator, Limit=1000)
        self._iterator = response["NextShardIterator"]
        return [lambda_record(record, self._arn, "ap-southeast-1") for record in response["Records"]]

    def new_event(self) -> dict[str, Any]:
        """The DynamoDB stream event Lambda would invoke PublisherFunction with."""
        return {"Records": self.new_records()}


def example_rule_pattern(campaign: str) -> dict[str, Any]:
    """The event pattern of docs/outcomes.md's example rule (examples/), deployed for `campaign`."""
    rule = Template(EXAMPLE_RULE).resources["FinalEventsRule"]["Properties"]
    pattern: dict[str, Any] = Resolver(parameters={"Campaign": campaign}).resolve(rule["EventPattern"])
    return pattern


def queue_for_rule(events: Any, sqs: Any, bus_name: str, name: str, pattern: dict[str, Any]) -> str:
    """A queue that a rule with `pattern` on the bus delivers to; its URL."""
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus_name, Targets=[{"Id": name, "Arn": arn}])
    return url


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every event in the queue now, taken off it."""
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        found += [json.loads(message["Body"]) for message in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)
            ],
        )


class SteppingClock:
    """A clock that moves on 10 ms each time it is read: every write gets a time of its own."""

    def __init__(self, start: datetime = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) -> None:
        self._times: Iterator[datetime] = (start + timedelta(milliseconds=10 * step) for step in range(10**9))

    def __call__(self) -> datetime:
        return next(self._times)


def signed_get(url: str, region: str = "ap-southeast-1") -> tuple[int, dict[str, Any]]:
    """GET `url` signed as a producer's role would sign it (SigV4, execute-api); status and JSON body."""
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("AKIDPRODUCER", "producer-secret"), "execute-api", region).add_auth(request)
    return plain_get(url, dict(request.headers))


def plain_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())
