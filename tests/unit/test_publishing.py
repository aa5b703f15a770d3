"""StatusEventPublisher against an EventBridge that refuses: in-call retries, then the first record not
published and every one after it handed back to the stream."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from zns_relay.models.events import DETAIL_TYPE, EVENT_SOURCE
from zns_relay.models.state import MessageStatus
from zns_relay.models.stream import ItemChange
from zns_relay.publishing import StatusEventPublisher
from zns_relay.store.messages import to_item

Responder = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class FakeEventBridge:
    """PutEvents: records every call; `responder` answers each entry (an ErrorCode refuses it)."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._responder = responder or (lambda entries: [{"EventId": "e"} for _ in entries])

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append(Entries)
        results = self._responder(Entries)
        return {"FailedEntryCount": sum("ErrorCode" in result for result in results), "Entries": results}

    def published(self) -> list[dict[str, Any]]:
        return [json.loads(entry["Detail"]) for call in self.calls for entry in call]


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


def publisher(client: FakeEventBridge) -> StatusEventPublisher:
    return StatusEventPublisher(client, "zns-relay-dev-status", sleep=lambda _: None)


def test_a_batch_goes_to_the_bus_ten_entries_a_call_in_stream_order() -> None:
    bus = FakeEventBridge()

    failed = publisher(bus).publish(changes(25))

    assert failed == []
    assert [len(call) for call in bus.calls] == [10, 10, 5]
    assert [detail["requestId"] for detail in bus.published()] == [f"m-{index}" for index in range(25)]
    entry = bus.calls[0][0]
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == (
        "zns-relay-dev-status",
        EVENT_SOURCE,
        DETAIL_TYPE,
    )


def test_writes_that_change_no_status_and_deletions_are_not_published() -> None:
    bus = FakeEventBridge()
    note = ItemChange(
        "1",
        image("m-1", MessageStatus.ACCEPTED, "2026-11-27T08:00:01.000Z"),
        image("m-1", MessageStatus.ACCEPTED, "2026-11-27T08:05:00.000Z"),
    )
    deleted = ItemChange("2", image("m-1", MessageStatus.DELIVERED, "2026-11-27T08:06:00.000Z"), None)

    assert publisher(bus).publish([note, deleted]) == []
    assert bus.published() == []


def test_an_entry_refused_once_is_retried_and_published() -> None:
    # Given an EventBridge that refuses the 3rd entry of the first call only
    def once(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        refuse = len(bus.calls) == 1
        return [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}
            if refuse and index == 2
            else {"EventId": "e"}
            for index in range(len(entries))
        ]

    bus = FakeEventBridge(once)

    failed = publisher(bus).publish(changes(5))

    assert failed == []
    assert [len(call) for call in bus.calls] == [5, 1]
    assert bus.published()[-1]["requestId"] == "m-2"


def test_an_entry_refused_every_time_hands_back_its_record_and_every_later_one() -> None:
    # Given an EventBridge that always refuses message m-13's event
    def refuse_m13(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"ErrorCode": "ThrottlingException"} if '"m-13"' in entry["Detail"] else {"EventId": "e"}
            for entry in entries
        ]

    bus = FakeEventBridge(refuse_m13)

    failed = publisher(bus).publish(changes(25))

    # Then the records from m-13's on go back to the stream (Lambda retries from the first of them)
    assert failed == [str(100 + index) for index in range(13, 25)]
    # And the third chunk was never tried: events keep their stream order
    assert {detail["requestId"] for detail in bus.published()} == {f"m-{index}" for index in range(20)}


def test_an_unreadable_record_hands_back_itself_and_what_follows_after_publishing_what_precedes() -> None:
    bus = FakeEventBridge()
    batch = changes(4)
    batch[2] = ItemChange("102", None, to_item({"request_id": "m-2"}))

    failed = publisher(bus).publish(batch)

    assert failed == ["102", "103"]
    assert [detail["requestId"] for detail in bus.published()] == ["m-0", "m-1"]


@pytest.mark.parametrize("error", ["throttled", "unreachable"])
def test_a_put_events_call_that_fails_is_retried_then_handed_back(error: str) -> None:
    class Failing(FakeEventBridge):
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            self.calls.append(Entries)
            if error == "throttled":
                raise ClientError({"Error": {"Code": "ThrottlingException"}}, "PutEvents")
            raise EndpointConnectionError(endpoint_url="https://events")

    bus = Failing()

    failed = publisher(bus).publish(changes(2))

    assert failed == ["100", "101"]
    assert len(bus.calls) == 3  # the publisher's own attempts before Lambda's
