"""MessageStore on moto: one conditional write per transition, forward only, claims exclusive."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from zns_relay.models.state import ALLOWED_SOURCES, FINAL_STATUSES, MessageStatus
from zns_relay.store.indexes import awaiting_shard
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import ClaimLost, Written

NOW = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
FIELDS = {"phone": "0901888484", "temp_id": "2056446", "oa_id": "1", "campaign_id": None, "sandbox": False}
EPOCH = int(NOW.timestamp())
CHECK_AT = EPOCH + 3600


def claim(store: MessageStore, request_id: str = "r-1", lease_seconds: int = 60, **keep: Any) -> Any:
    """The claim, or None when it was lost."""
    result = store.claim(request_id, FIELDS, lease_seconds, check_at=CHECK_AT, keep_fields=keep)
    return None if isinstance(result, ClaimLost) else result


def raw_item(aws: boto3.Session, deployment: Resolver, request_id: str = "r-1") -> dict[str, Any]:
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    item: dict[str, Any] = table.get_item(Key={"request_id": request_id})["Item"]
    return item


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


def test_first_claim_creates_the_item_in_sending_and_in_the_awaiting_index(
    store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    won = claim(store, retry_until=EPOCH + 100)

    assert won is not None and won.attempts == 1 and not won.took_over
    assert won.retry_until == EPOCH + 100
    record = store.get("r-1")
    assert record is not None
    assert record.status is MessageStatus.SENDING
    assert record.phone == "0901888484"
    assert record.campaign_id is None
    assert record.created_at == "2026-11-26T08:00:00.000Z"
    assert record.expires_at == EPOCH + 30 * 86400
    assert record.lease_until == EPOCH + 60
    assert record.check_at == CHECK_AT
    assert raw_item(aws, deployment)["awaiting"] == awaiting_shard("r-1")
    assert [(entry.status, entry.detail) for entry in record.history] == [
        (MessageStatus.SENDING, "claimed for sending")
    ]


def test_second_claim_while_leased_is_lost_and_says_whose_lease_it_waits_for(store: MessageStore) -> None:
    claim(store)
    lost = store.claim("r-1", FIELDS, 60, check_at=CHECK_AT)
    assert lost == ClaimLost(MessageStatus.SENDING, lease_until=EPOCH + 60)


def test_a_claim_on_a_finished_message_is_lost(store: MessageStore) -> None:
    claim(store)
    store.transition("r-1", MessageStatus.FAILED, "eSMS 789")
    assert store.claim("r-1", FIELDS, 60, check_at=CHECK_AT) == ClaimLost(MessageStatus.FAILED)


def test_claim_after_lease_expiry_wins_and_knows_it_took_over(store: MessageStore) -> None:
    claim(store, lease_seconds=-1)
    won = claim(store)
    # The dead holder may have reached eSMS: the new holder must treat the message as possibly accepted
    assert won is not None and won.attempts == 2 and won.took_over and won.possibly_accepted


def test_retrying_message_is_claimable_again_and_keeps_its_first_window(store: MessageStore) -> None:
    first = claim(store, retry_until=EPOCH + 100)
    assert first is not None
    assert store.transition(
        "r-1", MessageStatus.RETRYING, "eSMS did not answer in time", {"error": "timeout"},
        keep_fields={"uncertain_since": EPOCH}, claim=first, check_at=CHECK_AT,
    )  # fmt: skip

    second = claim(store, retry_until=EPOCH + 999)

    assert second is not None and second.attempts == 2 and not second.took_over
    assert second.retry_until == EPOCH + 100
    assert second.uncertain_since == EPOCH and second.possibly_accepted
    assert second.error == "timeout"
    record = store.get("r-1")
    assert record is not None
    assert [entry.status for entry in record.history] == ["SENDING", "RETRYING", "SENDING"]


def test_concurrent_claims_have_exactly_one_winner(store: MessageStore) -> None:
    barrier = threading.Barrier(8)
    results = []

    def contend() -> None:
        barrier.wait()
        results.append(claim(store))

    threads = [threading.Thread(target=contend) for _ in range(8)]
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

    written = store.transition("r-1", target, "test move")

    record = store.get("r-1")
    assert record is not None
    assert bool(written) is (source in ALLOWED_SOURCES[target])
    assert written is (Written.APPLIED if written else Written.REFUSED)
    assert record.status is (target if written else source)
    assert len(record.history) == (1 if written else 0)


def test_final_statuses_have_no_way_out() -> None:
    for target, sources in ALLOWED_SOURCES.items():
        assert not (sources & FINAL_STATUSES), f"{target} can be reached from a final status"


def test_transition_of_a_missing_item_writes_nothing_and_says_so(store: MessageStore) -> None:
    assert store.transition("missing", MessageStatus.ACCEPTED, "x") is Written.NO_ITEM
    assert store.get("missing") is None


def test_transition_sets_fields_keeps_first_values_and_keeps_data_in_history(store: MessageStore) -> None:
    claim(store)
    store.transition(
        "r-1", MessageStatus.RETRYING, "HTTP 500", {"error": "eSMS answered HTTP 500"}, check_at=CHECK_AT
    )
    claim(store)
    store.transition(
        "r-1", MessageStatus.ACCEPTED, "accepted", {"esms_code": "100"},
        keep_fields={"sms_id": "abc", "accepted_at": EPOCH}, check_at=CHECK_AT,
    )  # fmt: skip

    store.transition(
        "r-1",
        MessageStatus.DELIVERED,
        "delivered",
        keep_fields={"sms_id": "from-a-callback", "accepted_at": EPOCH + 50},
        data={"SendStatus": "5", "SendSuccess": "1"},
    )

    record = store.get("r-1")
    assert record is not None
    assert record.sms_id == "abc"  # the first SMSID learnt stays
    assert record.accepted_at == EPOCH
    assert record.lease_until is None
    assert record.error is None  # a delivered message carries no stale retry error
    assert record.history[-1].data == {"SendStatus": "5", "SendSuccess": "1"}


def test_only_waiting_messages_are_in_the_awaiting_index_and_due_lists_what_is_due(
    store: MessageStore,
) -> None:
    # Given messages waiting until different times, one finished and one sandbox-accepted
    for index in range(40):
        claim(store, f"due-{index}")
    claim(store, "later")
    store.reschedule("later", CHECK_AT + 10, while_in=frozenset({MessageStatus.SENDING}))
    claim(store, "done")
    store.transition("done", MessageStatus.FAILED, "eSMS 789")
    claim(store, "sandbox")
    store.transition(
        "sandbox", MessageStatus.ACCEPTED, "accepted", {"sandbox": True}
    )  # no check_at: not awaiting

    # When the reconciler asks what is due at CHECK_AT
    due = {message.request_id: message for message in store.due(CHECK_AT, page_size=7)}

    # Then exactly the waiting messages whose time has come are listed, across every shard and page
    assert set(due) == {f"due-{index}" for index in range(40)}
    assert len({awaiting_shard(request_id) for request_id in due}) > 1
    assert due["due-0"].status is MessageStatus.SENDING and due["due-0"].oa_id == "1"
    assert {message.request_id for message in store.due(CHECK_AT + 10)} == set(due) | {"later"}


def test_reschedule_moves_only_a_message_still_in_the_status_seen(store: MessageStore) -> None:
    claim(store)
    assert not store.reschedule("r-1", CHECK_AT + 5, while_in=frozenset({MessageStatus.ACCEPTED}))
    assert store.reschedule("r-1", CHECK_AT + 5, while_in=frozenset({MessageStatus.SENDING}))
    record = store.get("r-1")
    assert record is not None and record.check_at == CHECK_AT + 5
    assert len(record.history) == 1  # rescheduling writes no history


def test_lease_condition_refuses_a_message_whose_holder_is_alive(store: MessageStore) -> None:
    claim(store, lease_seconds=60)
    alive = store.transition(
        "r-1", MessageStatus.RETRYING, "abandoned", lease_expired_by=EPOCH, check_at=CHECK_AT
    )
    dead = store.transition(
        "r-1", MessageStatus.RETRYING, "abandoned", lease_expired_by=EPOCH + 61, check_at=CHECK_AT
    )
    assert alive is Written.REFUSED and dead is Written.APPLIED


def test_a_write_without_history_keeps_the_item_small(store: MessageStore) -> None:
    claim(store)
    store.transition("r-1", MessageStatus.RETRYING, "HTTP 503", check_at=CHECK_AT, history=False)
    record = store.get("r-1")
    assert record is not None and record.status is MessageStatus.RETRYING
    assert [entry.status for entry in record.history] == ["SENDING"]


@pytest.mark.parametrize("status", [MessageStatus.REJECTED, MessageStatus.EXPIRED])
def test_create_final_records_once_and_never_overwrites(store: MessageStore, status: MessageStatus) -> None:
    assert store.create_final("r-1", status, "Phone: not a Vietnamese mobile number") is True
    assert store.create_final("r-1", status, "another reason") is False

    record = store.get("r-1")
    assert record is not None
    assert record.status is status
    assert record.error == "Phone: not a Vietnamese mobile number"
    assert record.check_at is None


def test_create_final_does_not_touch_an_existing_message(store: MessageStore) -> None:
    claim(store)
    assert store.create_final("r-1", MessageStatus.REJECTED, "bad") is False
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

    won = claim(store)

    # Then the claim is recognised as ours by its token, so the message is sent, not dropped
    assert won is not None
    assert won.attempts == 1


def test_a_taken_over_claim_can_no_longer_record_a_result(store: MessageStore) -> None:
    # Given a first claim whose lease ran out and a second delivery that took the message over
    stale = claim(store, lease_seconds=-1)
    current = claim(store)
    assert stale is not None and current is not None

    # When the stale holder finally records its (late) result
    refused = store.transition("r-1", MessageStatus.FAILED, "late", claim=stale)

    # Then only the current holder's result counts
    assert refused is Written.REFUSED
    assert store.transition("r-1", MessageStatus.ACCEPTED, "accepted", {"sms_id": "s"}, claim=current)
    record = store.get("r-1")
    assert record is not None and record.status is MessageStatus.ACCEPTED


def test_notes_stop_before_the_history_can_grow_an_item_without_bound(store: MessageStore) -> None:
    # Given a message receiving inconclusive reports over and over (a replayed callback URL, say)
    claim(store)
    store.transition("r-1", MessageStatus.ACCEPTED, "accepted", check_at=CHECK_AT)
    waiting = frozenset({MessageStatus.ACCEPTED})

    written = [
        store.note("r-1", "eSMS holds it (SendStatus 2)", {"x": "y" * 400}, while_in=waiting)
        for _ in range(60)
    ]

    # Then notes stop at the cap, while status changes still apply
    record = store.get("r-1")
    assert record is not None and len(record.history) == 50
    assert written.count(Written.APPLIED) == 48 and written[-1] is Written.REFUSED
    assert store.transition("r-1", MessageStatus.DELIVERED, "delivered")


def test_a_retry_without_sandbox_clears_an_earlier_attempts_sandbox_flag(
    store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message whose first attempt was a sandbox one, and failed for now
    store.claim("r-1", {**FIELDS, "sandbox": True}, 60, check_at=CHECK_AT)
    assert raw_item(aws, deployment)["sandbox"] is True
    store.transition("r-1", MessageStatus.RETRYING, "eSMS 500", check_at=CHECK_AT)

    # When it is claimed again for a real send (the deployment's Sandbox changed meanwhile)
    assert claim(store) is not None

    # Then the item no longer says sandbox (absent is false): its SMS fallback would be real too
    assert "sandbox" not in raw_item(aws, deployment)
    record = store.get("r-1")
    assert record is not None and record.sandbox is False
