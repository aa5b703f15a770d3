"""PublisherFunction invoked as Lambda invokes it from MessagesTable's stream, on moto: every status change
of the store is exactly one event on the status bus, and a producer's rule routes its own."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from tests.conftest import EVENTS, LoadedFunction, load_event, load_function
from tests.support.outcomes import SteppingClock, TableStream, drain, example_rule_pattern, queue_for_rule
from zns_relay.models.events import DETAIL_TYPE, EVENT_SOURCE
from zns_relay.models.state import ALLOWED_SOURCES, BEFORE_ACCEPTANCE, MessageStatus
from zns_relay.store.messages import MessageStore

CHECK_AT = 4102444800
FIELDS = {"phone": "0901888484", "temp_id": "2056446", "oa_id": "1", "sandbox": False}
Change = tuple[str | None, str]  # (previousStatus, status) of one event


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"), clock=SteppingClock())


@pytest.fixture
def publisher(deployment: Resolver, monkeypatch: pytest.MonkeyPatch) -> LoadedFunction:
    return load_function("PublisherFunction", deployment, monkeypatch, {})


@pytest.fixture
def stream(aws: boto3.Session, deployment: Resolver) -> TableStream:
    return TableStream(aws, deployment)


@pytest.fixture
def bus_queue(aws: boto3.Session, deployment: Resolver) -> str:
    """A queue hearing every event of the status bus."""
    return queue_for_rule(
        aws.client("events"),
        aws.client("sqs"),
        deployment.ref("StatusEventBus"),
        "all-status-events",
        {"source": [EVENT_SOURCE]},
    )


def publish(publisher: LoadedFunction, stream: TableStream) -> dict[str, Any]:
    response: dict[str, Any] = publisher.invoke(stream.new_event())
    return response


def changes_by_message(events: list[dict[str, Any]]) -> dict[str, list[Change]]:
    found: dict[str, list[Change]] = defaultdict(list)
    for event in events:
        found[event["detail"]["requestId"]].append(
            (event["detail"]["previousStatus"], event["detail"]["status"])
        )
    return dict(found)


# The store's writes that bring a new message to each status a transition may start from.
PATHS: dict[MessageStatus, list[MessageStatus]] = {
    MessageStatus.SENDING: [],
    MessageStatus.RETRYING: [MessageStatus.RETRYING],
    MessageStatus.ACCEPTED: [MessageStatus.ACCEPTED],
    MessageStatus.SENT: [MessageStatus.ACCEPTED, MessageStatus.SENT],
    MessageStatus.DEFERRED: [MessageStatus.ACCEPTED, MessageStatus.DEFERRED],
}
TRANSITIONS = sorted((source, target) for target, sources in ALLOWED_SOURCES.items() for source in sources)


def bring_to(store: MessageStore, request_id: str, status: MessageStatus) -> list[Change]:
    """Claim a new message and move it to `status`; the changes that took."""
    store.claim(request_id, FIELDS, lease_seconds=60, check_at=CHECK_AT)
    walked: list[Change] = [(None, "SENDING")]
    for step in PATHS[status]:
        assert store.transition(request_id, step, f"to {step}", check_at=CHECK_AT)
        walked.append((walked[-1][1], step.value))
    return walked


def test_the_sample_stream_event_publishes_each_status_change_once_and_the_note_not_at_all(
    publisher: LoadedFunction, aws: boto3.Session, bus_queue: str
) -> None:
    # Given the stream records of a claim, its acceptance, an inconclusive report and a failed delivery
    event = load_event("publisher-status-changes.json")

    # When Lambda delivers them, twice (the stream delivers at least once)
    first = publisher.invoke(event)
    again = publisher.invoke(event)

    # Then the bus got three events each time, with the same ids, in the stream's order
    assert first == again == {"batchItemFailures": []}
    events = drain(aws.client("sqs"), bus_queue)
    assert [(e["source"], e["detail-type"]) for e in events] == [(EVENT_SOURCE, DETAIL_TYPE)] * 6
    details = [event["detail"] for event in events]
    assert [(d["previousStatus"], d["status"], d["isFinal"]) for d in details[:3]] == [
        (None, "SENDING", False),
        ("SENDING", "ACCEPTED", False),
        ("ACCEPTED", "FAILED", True),
    ]
    assert [d["eventId"] for d in details[:3]] == [d["eventId"] for d in details[3:]]
    failed = details[2]
    assert failed["phone"] == "090****484"
    assert failed["zaloError"]["code"] == "-114"
    assert failed["reason"].startswith("Zalo -114: User is inactive")
    assert (failed["campaign"], failed["tempId"], failed["esmsCode"]) == ("autumn-sale", "2056446", "100")
    assert failed["smsId"] == "f66545d2-c7e2-4603-984e-d2238c363c8292"


def test_a_deferred_message_is_published_with_its_next_attempt_and_nothing_of_its_sealed_tempdata(
    publisher: LoadedFunction, aws: boto3.Session, bus_queue: str
) -> None:
    # Given the stream record of a message Zalo deferred for the night window (its images carry its
    # sealed TempData as a stream event does: base64)
    event = load_event("publisher-deferred.json")
    assert "B" in event["Records"][0]["dynamodb"]["NewImage"]["sealed_temp_data"]

    # When Lambda delivers it
    assert publisher.invoke(event) == {"batchItemFailures": []}

    # Then the bus says DEFERRED, not final, when it goes again and why
    [published] = drain(aws.client("sqs"), bus_queue)
    detail = published["detail"]
    assert (detail["previousStatus"], detail["status"], detail["isFinal"]) == ("ACCEPTED", "DEFERRED", False)
    assert detail["nextAttemptAt"] == "2026-11-27T23:07:33.000Z"  # 06:07:33 Vietnam time
    assert detail["zaloError"]["code"] == "-133"
    assert detail["smsId"] is None
    assert "sealed" not in json.dumps(published).lower()


def test_every_transition_of_the_state_machine_is_exactly_one_event(
    publisher: LoadedFunction, store: MessageStore, stream: TableStream, aws: boto3.Session, bus_queue: str
) -> None:
    # Given one message for each allowed transition, brought to its source status and moved on by the store
    expected: dict[str, list[Change]] = {}
    for source, target in TRANSITIONS:
        request_id = f"{source.value}-to-{target.value}"
        walked = bring_to(store, request_id, source)
        assert store.transition(request_id, target, f"to {target}", check_at=CHECK_AT)
        expected[request_id] = [*walked, (source.value, target.value)]
    # And the messages created final, never claimed
    for status in (MessageStatus.REJECTED, MessageStatus.EXPIRED):
        assert store.create_final(f"created-{status.value}", status, "never sent")
        expected[f"created-{status.value}"] = [(None, status.value)]

    # When the publisher gets the table's stream
    assert publish(publisher, stream) == {"batchItemFailures": []}

    # Then each message's events are exactly its status changes, each transition once
    assert changes_by_message(drain(aws.client("sqs"), bus_queue)) == expected
    assert len(TRANSITIONS) == sum(len(sources) for sources in ALLOWED_SOURCES.values())


def test_writes_that_change_no_status_publish_nothing(
    publisher: LoadedFunction, store: MessageStore, stream: TableStream, aws: boto3.Session, bus_queue: str
) -> None:
    # Given a claimed message whose claim is taken over after its lease ran out, then accepted,
    # noted (an inconclusive report) and rescheduled by the reconciler; and a refused transition
    store.claim("quiet", FIELDS, lease_seconds=-1, check_at=CHECK_AT)
    assert store.claim("quiet", FIELDS, lease_seconds=60, check_at=CHECK_AT) is not None  # took over
    store.transition("quiet", MessageStatus.ACCEPTED, "accepted", check_at=CHECK_AT)
    assert store.note("quiet", "SendStatus 1", None, while_in=frozenset({MessageStatus.ACCEPTED}))
    assert store.reschedule("quiet", CHECK_AT + 60, while_in=frozenset({MessageStatus.ACCEPTED}))
    assert not store.transition("quiet", MessageStatus.RETRYING, "refused", only_from=BEFORE_ACCEPTANCE)

    # When the publisher gets the stream
    publish(publisher, stream)

    # Then only the two status changes made events
    assert changes_by_message(drain(aws.client("sqs"), bus_queue)) == {
        "quiet": [(None, "SENDING"), ("SENDING", "ACCEPTED")]
    }


def test_the_readme_rule_routes_one_campaigns_final_events_to_the_producers_queue(
    publisher: LoadedFunction,
    store: MessageStore,
    stream: TableStream,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given the example rule (examples/), deployed for campaign autumn-sale with its own queue
    pattern = example_rule_pattern("autumn-sale")
    bus = deployment.ref("StatusEventBus")
    outcomes = queue_for_rule(aws.client("events"), aws.client("sqs"), bus, "autumn-sale-outcomes", pattern)
    # And messages of that campaign and of another one, some final and one still waiting
    for request_id, campaign, statuses in [
        ("a-delivered", "autumn-sale", [MessageStatus.ACCEPTED, MessageStatus.DELIVERED]),
        ("a-failed", "autumn-sale", [MessageStatus.ACCEPTED, MessageStatus.SENT, MessageStatus.FAILED]),
        ("a-waiting", "autumn-sale", [MessageStatus.ACCEPTED]),
        ("b-delivered", "winter-sale", [MessageStatus.ACCEPTED, MessageStatus.DELIVERED]),
    ]:
        store.claim(request_id, {**FIELDS, "campaign_id": campaign}, lease_seconds=60, check_at=CHECK_AT)
        for status in statuses:
            store.transition(request_id, status, f"to {status}", check_at=CHECK_AT)

    # When their changes are published
    publish(publisher, stream)

    # Then the producer's queue holds exactly the final events of its campaign
    routed = drain(aws.client("sqs"), outcomes)
    assert sorted((e["detail"]["requestId"], e["detail"]["status"]) for e in routed) == [
        ("a-delivered", "DELIVERED"),
        ("a-failed", "FAILED"),
    ]


def test_the_whole_phone_is_published_only_when_the_deployment_says_so(
    deployment: Resolver, monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, bus_queue: str
) -> None:
    full = load_function("PublisherFunction", deployment, monkeypatch, {"EVENT_PHONE_FORMAT": "full"})

    full.invoke(load_event("publisher-status-changes.json"))

    assert {event["detail"]["phone"] for event in drain(aws.client("sqs"), bus_queue)} == {"0901888484"}


def test_when_the_bus_cannot_be_reached_every_record_goes_back_to_the_stream(
    publisher: LoadedFunction, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a bus that is gone
    aws.client("events").delete_event_bus(Name=deployment.ref("StatusEventBus"))
    event = load_event("publisher-status-changes.json")

    # When Lambda delivers the records
    response = publisher.invoke(event)

    # Then it reports them all failed from the first, for Lambda to retry (and, past its retries, the DLQ)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]]
    }


def test_sample_events_exist_for_the_new_functions() -> None:
    names = {path.name for path in Path(EVENTS).glob("*.json")}
    assert {
        "publisher-status-changes.json",
        "publisher-deferred.json",
        "status-get-message.json",
        "status-list-by-phone.json",
        "status-list-by-campaign.json",
        "status-list-by-status.json",
    } <= names
