"""Producers hear the outcome, through the embedded stack (issue "Producers hear the outcome", Done when):
a producer's own rule and queue get exactly one final event per message, after dropping repeats by
eventId, each equal to the table's status; the status API answers for every status, signed requests only.

The publisher's environment is killed after some of its PutEvents calls went through, so the stream
delivers those batches again and the bus carries repeats, as it may on AWS.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.scenarios.crashes import CrashPoint
from local.scenarios.demo import DEMO_FAULTS, build_mix, publish
from local.stack import LocalStack, StackInfo
from tests.support.outcomes import drain, example_rule_pattern, plain_get, queue_for_rule, signed_get
from tests.support.waiting import wait_for
from zns_relay.models.events import DETAIL_TYPE
from zns_relay.models.state import ALLOWED_SOURCES, FINAL_STATUSES, MessageStatus
from zns_relay.store.messages import MessageStore

pytestmark = pytest.mark.e2e
CAMPAIGN = "demo"  # the campaign of local.scenarios.demo's mix
OTHER_CAMPAIGN = "another-producer"
SEEDED_CAMPAIGN = "seeded"
# A message with no final report ends UNKNOWN 11 s after acceptance here, not 36 s: a shorter test.
OVERRIDES = {"UNKNOWN_AFTER_HOURS": "0.003"}
CHECK_AT = 4102444800  # far ahead: the reconciler leaves the seeded messages alone


@dataclass(frozen=True)
class Outcome:
    statuses: dict[str, str]  # the table's, once every message settled
    expected: set[str]  # the campaign's messages that must be heard final (REJECTED ones carry no campaign)
    events: list[dict[str, Any]]  # what the producer's queue received, repeats included


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The functions' lines to a file: on stderr they reached pytest's progress between two tests
    log = tmp_path_factory.mktemp("outcomes") / "functions.log"
    with LocalStack(
        simulator_config=DEMO_FAULTS, function_overrides=OVERRIDES, function_output=log
    ) as running:
        yield running


@pytest.fixture(scope="module")
def info(stack: LocalStack) -> StackInfo:
    assert stack.info is not None
    return stack.info


@pytest.fixture(scope="module")
def outcome(stack: LocalStack, info: StackInfo) -> Outcome:
    """A few hundred messages with eSMS's faults, heard by a producer subscribed to its final events."""
    # Given the producer's rule (docs/outcomes.md's example) routing its campaign's final events to its queue
    sqs = info.client("sqs")
    producer_queue = queue_for_rule(
        info.client("events"), sqs, info.event_bus_name, "producer-outcomes", example_rule_pattern(CAMPAIGN)
    )
    # And a publisher killed after some of its PutEvents calls succeeded
    stack.crashes.arm_random(CrashPoint.AFTER_PUT_EVENTS, probability=0.03, seed=9)
    # And a few hundred messages of its campaign (deliverable, failing, unknown, expired, invalid, sandbox,
    # repeated), with a few of another producer's
    mix = build_mix(200)
    others = build_mix(15, seed=12)
    for message in others:
        message.body.update(campaignid=OTHER_CAMPAIGN, RequestId=f"other-{message.request_id}")
    publish(info, mix + others)
    expected = {m.request_id for m in mix if m.expected in FINAL_STATUSES and m.expected != "REJECTED"}
    sandbox = {m.request_id for m in mix + others if m.expected == "ACCEPTED"}
    ids = {message.request_id for message in mix + others}

    # When they have all settled: final, or ACCEPTED for good (sandbox: eSMS never reports on those)
    def settled() -> dict[str, str] | None:
        found = {request_id: status for request_id, status in info.statuses().items() if request_id in ids}
        done = set(found) == ids and all(
            status in FINAL_STATUSES or (status == "ACCEPTED" and request_id in sandbox)
            for request_id, status in found.items()
        )
        return found if done else None

    statuses = wait_for(settled, timeout=180)
    assert statuses, Counter(info.statuses().values())

    # And the producer reads its queue until it has heard of each of its final messages
    events: list[dict[str, Any]] = []

    def heard_all() -> bool:
        events.extend(drain(sqs, producer_queue))
        return {event["detail"]["requestId"] for event in events} >= expected

    assert wait_for(heard_all, timeout=60), expected - {event["detail"]["requestId"] for event in events}
    return Outcome(statuses, expected, events)


def test_a_producer_hears_exactly_one_final_event_per_message_equal_to_the_table(
    stack: LocalStack, info: StackInfo, outcome: Outcome
) -> None:
    # When the producer drops repeats by eventId
    unique = {event["detail"]["eventId"]: event for event in outcome.events}
    finals: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in unique.values():
        finals[event["detail"]["requestId"]].append(event["detail"])

    # Then it has exactly one final event per message of its campaign, and no other event
    assert set(finals) == outcome.expected
    assert {request_id for request_id, details in finals.items() if len(details) != 1} == set()
    # And each says the status the table holds, reached by an allowed transition
    assert {r: details[0]["status"] for r, details in finals.items()} == {
        r: outcome.statuses[r] for r in outcome.expected
    }
    for [detail] in finals.values():
        assert detail["isFinal"] is True
        assert detail["campaign"] == CAMPAIGN
        previous = detail["previousStatus"]
        assert previous is None or MessageStatus(previous) in ALLOWED_SOURCES[MessageStatus(detail["status"])]
        assert "*" in detail["phone"]  # masked by default
    assert {event["detail-type"] for event in outcome.events} == {DETAIL_TYPE}
    # And repeats were there to drop: the publisher died after putting events, and the stream delivered
    # those batches again
    assert any(crash.point is CrashPoint.AFTER_PUT_EVENTS for crash in stack.crashes.fired())
    assert stack.stream_sources[0].stats.retries > 0


def seed(info: StackInfo) -> dict[MessageStatus, str]:
    """Messages held in the statuses a flow only passes through (SENDING, RETRYING, SENT), and one
    Zalo deferred (the flow has no night), of another phone and no campaign."""
    store = MessageStore(info.table_name, info.client("dynamodb"))
    fields = {"phone": "0987654321", "temp_id": "2056446", "campaign_id": SEEDED_CAMPAIGN}
    seeded = {}
    for status, path in [
        (MessageStatus.SENDING, []),
        (MessageStatus.RETRYING, [MessageStatus.RETRYING]),
        (MessageStatus.SENT, [MessageStatus.ACCEPTED, MessageStatus.SENT]),
    ]:
        request_id = f"seeded-{status.value}"
        store.claim(request_id, fields, lease_seconds=3600, check_at=CHECK_AT)
        for step in path:
            assert store.transition(request_id, step, f"to {step}", check_at=CHECK_AT)
        seeded[status] = request_id
    deferred = {"phone": "0912345678", "temp_id": "2056446"}
    store.claim("seeded-DEFERRED", deferred, lease_seconds=3600, check_at=CHECK_AT)
    for step in (MessageStatus.ACCEPTED, MessageStatus.DEFERRED):
        assert store.transition("seeded-DEFERRED", step, f"to {step}", check_at=CHECK_AT)
    seeded[MessageStatus.DEFERRED] = "seeded-DEFERRED"
    return seeded


def test_the_status_api_answers_for_every_status_signed_requests_only(
    info: StackInfo, outcome: Outcome
) -> None:
    # Given messages in every status: the flow's (settled: none moves any more), and a few held where a
    # flow only passes
    seeded = seed(info)
    statuses = info.statuses()
    api = info.status_api_url

    for status in MessageStatus:
        # When a producer lists the messages in this status (signed, as its role would)
        code, page = signed_get(f"{api}/statuses/{status.value}/messages?limit=100")

        # Then it gets them, all in that status as the table says, and can look each up with its history
        assert code == 200, page
        listed = page["messages"]
        assert listed, status
        assert {message["status"] for message in listed} == {status.value}
        assert {m["requestId"]: m["status"] for m in listed} == {
            m["requestId"]: statuses[m["requestId"]] for m in listed
        }
        code, message = signed_get(f"{api}/messages/{listed[0]['requestId']}")
        assert code == 200
        assert message["status"] == status.value and message["history"]

    # And lists by campaign and by phone, newest first
    code, by_campaign = signed_get(f"{api}/campaigns/{SEEDED_CAMPAIGN}/messages")
    assert code == 200
    assert [m["requestId"] for m in by_campaign["messages"]] == [
        seeded[MessageStatus.SENT],
        seeded[MessageStatus.RETRYING],
        seeded[MessageStatus.SENDING],
    ]
    code, by_phone = signed_get(f"{api}/phones/%2B84%20987%20654%20321/messages")
    assert code == 200 and len(by_phone["messages"]) == 3
    # And an unknown id is 404, a bad filter 400
    assert signed_get(f"{api}/messages/no-such-message") == (404, {"message": "no such message"})
    code, refused = signed_get(f"{api}/statuses/DONE/messages")
    assert code == 400 and refused["message"].startswith("status:")
    # And an unsigned request never reaches the function
    assert plain_get(f"{api}/messages/{seeded[MessageStatus.SENT]}") == (403, {"message": "Forbidden"})
    assert plain_get(f"{api}/statuses/SENT/messages") == (403, {"message": "Forbidden"})
    assert plain_get(f"{api}/phones/0987654321/messages") == (403, {"message": "Forbidden"})
    # And the query-string lists of before are gone
    assert signed_get(f"{api}/messages?status=SENT") == (404, {"message": "Not Found"})


def test_the_events_carry_nothing_secret(info: StackInfo, outcome: Outcome) -> None:
    text = json.dumps(outcome.events)
    for secret in ("ApiKey", "SecretKey", "claim_token", "CallbackKey", "/callbacks/esms/"):
        assert secret not in text
