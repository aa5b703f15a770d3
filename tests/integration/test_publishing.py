"""StatusEventPublisher against EventBridge on moto, refusing through botocore's own events: in-call
retries, then the first record not published and every one after it handed back to the stream."""

from __future__ import annotations

import json
import math
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import EndpointConnectionError

from local.runtime.template import Resolver
from tests.support.outcomes import drain, queue_for_rule
from zns_relay.models.events import DETAIL_TYPE, EVENT_SOURCE
from zns_relay.models.state import MessageStatus
from zns_relay.models.stream import ItemChange
from zns_relay.status_events.publisher import StatusEventPublisher
from zns_relay.store.items import to_item

BotocoreAnswer = tuple[AWSResponse, dict[str, Any]]


class PutEventsAnswers:
    """Decides, in botocore's before-call event of a real events client, how EventBridge answers each
    PutEvents: a handler returning (http response, parsed) answers in the service's place (botocore then
    raises for an error status, as for a real answer), None lets the call go on to moto. Records the
    entries of every call."""

    def __init__(self, client: Any, bus: Any) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._bus = bus  # a client of the same moto bus, without these answers
        self._refusals: dict[str, float] = {}
        self._call_failure: dict[str, str] | EndpointConnectionError | None = None
        client.meta.events.register("before-call.events.PutEvents", self._answer)

    def refuse(self, request_id: str, times: float = math.inf) -> None:
        """Answer the entry of `request_id`'s event with an ErrorCode `times` times; a refused entry never
        reaches the bus, the others of its call do."""
        self._refusals[request_id] = times

    def throttle_every_call(self) -> None:
        self._call_failure = {"Code": "ThrottlingException", "Message": "Rate exceeded"}

    def be_unreachable(self) -> None:
        self._call_failure = EndpointConnectionError(
            endpoint_url="https://events.ap-southeast-1.amazonaws.com"
        )

    def sent_request_ids(self) -> list[list[str]]:
        return [[_request_id(entry) for entry in call] for call in self.calls]

    def _answer(self, params: dict[str, Any], **_: Any) -> BotocoreAnswer | None:
        entries: list[dict[str, Any]] = json.loads(params["body"])["Entries"]
        self.calls.append(entries)
        if isinstance(self._call_failure, EndpointConnectionError):
            raise self._call_failure
        if self._call_failure is not None:
            return _answered(params, 400, {"Error": self._call_failure})
        refused = [self._refused_now(_request_id(entry)) for entry in entries]
        if not any(refused):
            return None
        accepted = [entry for entry, is_refused in zip(entries, refused, strict=True) if not is_refused]
        accepted_results = iter(self._bus.put_events(Entries=accepted)["Entries"])
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure"}
            if is_refused
            else next(accepted_results)
            for is_refused in refused
        ]
        return _answered(params, 200, {"FailedEntryCount": sum(refused), "Entries": results})

    def _refused_now(self, request_id: str) -> bool:
        if self._refusals.get(request_id, 0) <= 0:
            return False
        self._refusals[request_id] -= 1
        return True


def _request_id(entry: dict[str, Any]) -> str:
    request_id: str = json.loads(entry["Detail"])["requestId"]
    return request_id


def _answered(request: dict[str, Any], status: int, parsed: dict[str, Any]) -> BotocoreAnswer:
    """EventBridge's answer to `request` as botocore would have parsed it."""
    metadata = {"HTTPStatusCode": status}
    return AWSResponse(request["url"], status, HTTPHeaders(), None), {**parsed, "ResponseMetadata": metadata}


@pytest.fixture
def events(aws: boto3.Session) -> Any:
    return aws.client("events")


@pytest.fixture
def answers(aws: boto3.Session, events: Any) -> PutEventsAnswers:
    return PutEventsAnswers(events, aws.client("events"))


@pytest.fixture
def bus_queue(aws: boto3.Session, deployment: Resolver, events: Any) -> str:
    """A queue hearing every event of the status bus."""
    return queue_for_rule(
        events,
        aws.client("sqs"),
        deployment.ref("StatusEventBus"),
        "all-status-events",
        {"source": [EVENT_SOURCE]},
    )


@pytest.fixture
def publisher(deployment: Resolver, events: Any) -> StatusEventPublisher:
    return StatusEventPublisher(events, deployment.ref("StatusEventBus"), sleep=lambda _: None)


def published(aws: boto3.Session, bus_queue: str) -> list[str]:
    """The requestIds of the events that reached the bus, sorted (a duplicate shows twice)."""
    return sorted(event["detail"]["requestId"] for event in drain(aws.client("sqs"), bus_queue))


def image(request_id: str, status: MessageStatus, at: str) -> dict[str, Any]:
    return to_item(
        {
            "request_id": request_id,
            "status": status.value,
            "phone": "0901888484",
            "attempts": 1,
            "created_at": "2026-11-27T08:00:00.000Z",
            "updated_at": at,
            "expires_at": 1,
            "history": [{"status": status.value, "at": at, "detail": status.value.lower()}],
        }
    )


def changes(count: int) -> list[ItemChange]:
    """`count` messages, each moved from SENDING to ACCEPTED: one status event each."""
    return [
        ItemChange(
            sequence_number=str(100 + index),
            old_image=image(f"m-{index}", MessageStatus.SENDING, "2026-11-27T08:00:00.000Z"),
            new_image=image(f"m-{index}", MessageStatus.ACCEPTED, "2026-11-27T08:00:01.000Z"),
        )
        for index in range(count)
    ]


def ids(indexes: range | list[int]) -> list[str]:
    return sorted(f"m-{index}" for index in indexes)


def test_a_batch_goes_to_the_bus_ten_entries_a_call_in_stream_order(
    aws: boto3.Session,
    deployment: Resolver,
    publisher: StatusEventPublisher,
    answers: PutEventsAnswers,
    bus_queue: str,
) -> None:
    # Given 25 status changes
    # When they are published
    failed = publisher.publish(changes(25))

    # Then all went, ten entries a PutEvents call, in stream order
    assert failed == []
    assert answers.sent_request_ids() == [
        [f"m-{index}" for index in range(start, min(start + 10, 25))] for start in (0, 10, 20)
    ]
    # And each reached the status bus once, as a zns-relay status event
    events = drain(aws.client("sqs"), bus_queue)
    assert sorted(event["detail"]["requestId"] for event in events) == ids(range(25))
    assert {(event["source"], event["detail-type"]) for event in events} == {(EVENT_SOURCE, DETAIL_TYPE)}
    assert {entry["EventBusName"] for call in answers.calls for entry in call} == {
        deployment.ref("StatusEventBus")
    }


def test_writes_that_change_no_status_and_deletions_are_not_published(
    aws: boto3.Session, publisher: StatusEventPublisher, answers: PutEventsAnswers, bus_queue: str
) -> None:
    # Given a write that leaves the status as it was, and the deletion of an item
    note = ItemChange(
        "1",
        image("m-1", MessageStatus.ACCEPTED, "2026-11-27T08:00:01.000Z"),
        image("m-1", MessageStatus.ACCEPTED, "2026-11-27T08:05:00.000Z"),
    )
    deleted = ItemChange("2", image("m-1", MessageStatus.DELIVERED, "2026-11-27T08:06:00.000Z"), None)

    # When they are published
    failed = publisher.publish([note, deleted])

    # Then nothing failed, and nothing was put on the bus
    assert failed == []
    assert answers.calls == []
    assert published(aws, bus_queue) == []


def test_an_entry_refused_once_is_retried_and_published(
    aws: boto3.Session, publisher: StatusEventPublisher, answers: PutEventsAnswers, bus_queue: str
) -> None:
    # Given an EventBridge that refuses m-2's entry once
    answers.refuse("m-2", times=1)

    # When five changes are published
    failed = publisher.publish(changes(5))

    # Then only the refused entry was put again, and every event reached the bus exactly once
    assert failed == []
    assert answers.sent_request_ids() == [[f"m-{index}" for index in range(5)], ["m-2"]]
    assert published(aws, bus_queue) == ids(range(5))


def test_an_entry_refused_every_time_hands_back_its_record_and_every_later_one(
    aws: boto3.Session, publisher: StatusEventPublisher, answers: PutEventsAnswers, bus_queue: str
) -> None:
    # Given an EventBridge that always refuses m-13's entry
    answers.refuse("m-13")

    # When 25 changes are published
    failed = publisher.publish(changes(25))

    # Then the records from m-13's on go back to the stream (Lambda retries from the first of them)
    assert failed == [str(100 + index) for index in range(13, 25)]
    # And m-13's entry was tried three times, and the third chunk never: events keep their stream order
    assert [len(call) for call in answers.calls] == [10, 10, 1, 1]
    assert answers.sent_request_ids()[2:] == [["m-13"], ["m-13"]]
    assert published(aws, bus_queue) == ids([index for index in range(20) if index != 13])


def test_an_unreadable_record_hands_back_itself_and_what_follows_after_publishing_what_precedes(
    aws: boto3.Session, publisher: StatusEventPublisher, answers: PutEventsAnswers, bus_queue: str
) -> None:
    # Given a batch whose third record is not a message the store could have written
    batch = changes(4)
    batch[2] = ItemChange("102", None, to_item({"request_id": "m-2"}))

    # When it is published
    failed = publisher.publish(batch)

    # Then it and the record after it go back; the two before it are on the bus
    assert failed == ["102", "103"]
    assert answers.sent_request_ids() == [["m-0", "m-1"]]
    assert published(aws, bus_queue) == ids(range(2))


@pytest.mark.parametrize("failure", ["throttled", "unreachable"])
def test_a_put_events_call_that_fails_is_retried_then_handed_back(
    failure: str,
    aws: boto3.Session,
    publisher: StatusEventPublisher,
    answers: PutEventsAnswers,
    bus_queue: str,
) -> None:
    # Given an EventBridge that throttles every call, or cannot be reached
    if failure == "throttled":
        answers.throttle_every_call()
    else:
        answers.be_unreachable()

    # When two changes are published
    failed = publisher.publish(changes(2))

    # Then the publisher tried three times, then handed both records back, and nothing reached the bus
    assert failed == ["100", "101"]
    assert len(answers.calls) == 3  # the publisher's own attempts before Lambda's
    assert published(aws, bus_queue) == []
