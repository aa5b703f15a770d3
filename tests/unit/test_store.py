"""MessageStore on moto: one conditional write per transition, forward only, claims exclusive."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from local.template import Resolver
from zns_relay.models.state import ALLOWED_SOURCES, FINAL_STATUSES, MessageStatus
from zns_relay.store.messages import MessageStore

NOW = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
FIELDS = {"phone": "0901888484", "temp_id": "2056446", "oa_id": "1", "campaign_id": None, "sandbox": False}


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    client = aws.client("dynamodb")
    return MessageStore(deployment.ref("MessagesTable"), client, retention_days=30, clock=lambda: NOW)


def put_status(store: MessageStore, aws: boto3.Session, deployment: Resolver, status: MessageStatus) -> None:
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    table.put_item(
        Item={
            "request_id": "r-1", "status": status.value, "attempts": 1, "created_at": "t", "updated_at": "t",
            "expires_at": 1, "history": [],
        }
    )  # fmt: skip


def test_first_claim_creates_the_item_in_sending(store: MessageStore) -> None:
    claim = store.claim("r-1", FIELDS, lease_seconds=60)

    assert claim is not None and claim.attempts == 1
    record = store.get("r-1")
    assert record is not None
    assert record.status is MessageStatus.SENDING
    assert record.phone == "0901888484"
    assert record.campaign_id is None
    assert record.created_at == "2026-11-26T08:00:00.000Z"
    assert record.expires_at == int(NOW.timestamp()) + 30 * 86400
    assert record.lease_until == int(NOW.timestamp()) + 60
    assert [(entry.status, entry.detail) for entry in record.history] == [
        (MessageStatus.SENDING, "claimed for sending")
    ]


def test_second_claim_while_leased_is_lost(store: MessageStore) -> None:
    store.claim("r-1", FIELDS, lease_seconds=60)
    assert store.claim("r-1", FIELDS, lease_seconds=60) is None


def test_claim_after_lease_expiry_wins_and_counts_the_attempt(store: MessageStore) -> None:
    store.claim("r-1", FIELDS, lease_seconds=-1)
    claim = store.claim("r-1", FIELDS, lease_seconds=60)
    assert claim is not None and claim.attempts == 2


def test_retrying_message_is_claimable_again(store: MessageStore) -> None:
    store.claim("r-1", FIELDS, lease_seconds=60)
    assert store.transition("r-1", MessageStatus.RETRYING, "eSMS answered HTTP 500", {"error": "HTTP 500"})

    claim = store.claim("r-1", FIELDS, lease_seconds=60)

    assert claim is not None and claim.attempts == 2
    record = store.get("r-1")
    assert record is not None
    assert [entry.status for entry in record.history] == ["SENDING", "RETRYING", "SENDING"]


def test_concurrent_claims_have_exactly_one_winner(store: MessageStore) -> None:
    barrier = threading.Barrier(8)
    results = []

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("r-1", FIELDS, lease_seconds=60))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result is not None for result in results) == 1


@pytest.mark.parametrize(
    ("source", "target"),
    list(itertools.product(list(MessageStatus), [s for s in MessageStatus if ALLOWED_SOURCES[s]])),
)
def test_transition_applies_exactly_the_allowed_moves(
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    source: MessageStatus,
    target: MessageStatus,
) -> None:
    put_status(store, aws, deployment, source)

    applied = store.transition("r-1", target, "test move")

    record = store.get("r-1")
    assert record is not None
    assert applied is (source in ALLOWED_SOURCES[target])
    assert record.status is (target if applied else source)
    assert len(record.history) == (1 if applied else 0)


def test_final_statuses_have_no_way_out() -> None:
    for target, sources in ALLOWED_SOURCES.items():
        assert not (sources & FINAL_STATUSES), f"{target} can be reached from a final status"


def test_transition_of_a_missing_item_writes_nothing(store: MessageStore) -> None:
    assert store.transition("missing", MessageStatus.ACCEPTED, "x") is False
    assert store.get("missing") is None


def test_transition_sets_fields_and_keeps_data_in_history(store: MessageStore) -> None:
    store.claim("r-1", FIELDS, lease_seconds=60)
    store.transition("r-1", MessageStatus.ACCEPTED, "accepted", {"sms_id": "abc", "esms_code": "100"})

    store.transition(
        "r-1", MessageStatus.DELIVERED, "delivered", data={"SendStatus": "5", "SendSuccess": "1"}
    )

    record = store.get("r-1")
    assert record is not None
    assert record.sms_id == "abc"
    assert record.lease_until is None
    assert record.history[-1].data == {"SendStatus": "5", "SendSuccess": "1"}


def test_reject_records_once_and_never_overwrites(store: MessageStore) -> None:
    assert store.reject("r-1", "Phone: not a Vietnamese mobile number") is True
    assert store.reject("r-1", "another reason") is False

    record = store.get("r-1")
    assert record is not None
    assert record.status is MessageStatus.REJECTED
    assert record.error == "Phone: not a Vietnamese mobile number"


def test_reject_does_not_touch_an_existing_message(store: MessageStore) -> None:
    store.claim("r-1", FIELDS, lease_seconds=60)
    assert store.reject("r-1", "bad") is False
    record = store.get("r-1")
    assert record is not None and record.status is MessageStatus.SENDING


def test_rejected_is_never_reached_by_a_transition(store: MessageStore) -> None:
    with pytest.raises(ValueError, match="only ever created"):
        store.transition("r-1", MessageStatus.REJECTED, "x")


def test_claim_whose_response_was_lost_and_retried_is_still_won(
    aws: boto3.Session, deployment: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an SDK retry of a claim whose first try committed (a response lost on the way back):
    # the retry's condition fails, because the first try already moved the item to SENDING
    client = aws.client("dynamodb")
    real_update = client.update_item

    def committed_then_retried(**kwargs: Any) -> Any:
        real_update(**kwargs)
        return real_update(**kwargs)

    monkeypatch.setattr(client, "update_item", committed_then_retried)
    store = MessageStore(deployment.ref("MessagesTable"), client, clock=lambda: NOW)

    claim = store.claim("r-1", FIELDS, lease_seconds=60)

    # Then the claim is recognised as ours by its token, so the message is sent, not dropped
    assert claim is not None
    assert claim.attempts == 1


def test_a_taken_over_claim_can_no_longer_record_a_result(store: MessageStore) -> None:
    # Given a first claim whose lease ran out and a second delivery that took the message over
    stale = store.claim("r-1", FIELDS, lease_seconds=-1)
    current = store.claim("r-1", FIELDS, lease_seconds=60)
    assert stale is not None and current is not None

    # When the stale holder finally records its (late) result
    refused = store.transition("r-1", MessageStatus.FAILED, "late", claim=stale)

    # Then only the current holder's result counts
    assert refused is False
    assert store.transition("r-1", MessageStatus.ACCEPTED, "accepted", {"sms_id": "s"}, claim=current) is True
    record = store.get("r-1")
    assert record is not None and record.status is MessageStatus.ACCEPTED
