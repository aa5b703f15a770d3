"""The status event of a write: masking, ids, isFinal, the previous status, what the detail says."""

from __future__ import annotations

from typing import Any

import pytest

from zns_relay.models.events import PhoneFormat, mask_phone, status_change, status_event_id
from zns_relay.models.state import FINAL_STATUSES, HistoryEntry, MessageRecord, MessageStatus

AT = "2026-11-27T08:00:01.250Z"


def record(status: MessageStatus, updated_at: str = AT, **fields: Any) -> MessageRecord:
    values: dict[str, Any] = {
        "request_id": "order-DH240501-confirm",
        "status": status,
        "phone": "0901888484",
        "temp_id": "2056446",
        "campaign_id": "autumn-sale",
        "attempts": 1,
        "created_at": "2026-11-27T08:00:00.000Z",
        "updated_at": updated_at,
        "expires_at": 1,
        "history": [HistoryEntry(status=status, at=updated_at, detail=f"now {status.value}")],
    }
    return MessageRecord(**(values | fields))


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("0901888484", "090****484"), ("0351234567", "035****567"), ("12345", "*****")],
)
def test_a_phone_keeps_its_prefix_and_last_three_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_the_event_carries_a_masked_phone_by_default_and_the_whole_one_when_told() -> None:
    before, after = record(MessageStatus.SENDING), record(MessageStatus.ACCEPTED)

    masked = status_change(before, after, PhoneFormat.MASKED)
    full = status_change(before, after, PhoneFormat.FULL)

    assert masked is not None and masked.phone == "090****484"
    assert "0901888484" not in str(masked.detail())
    assert full is not None and full.phone == "0901888484"


def test_every_delivery_of_one_change_has_one_id_and_every_other_change_another() -> None:
    # Given one change delivered twice (the stream and EventBridge deliver at least once)
    first = status_change(record(MessageStatus.ACCEPTED), record(MessageStatus.DELIVERED), PhoneFormat.MASKED)
    again = status_change(record(MessageStatus.ACCEPTED), record(MessageStatus.DELIVERED), PhoneFormat.MASKED)

    # Then both carry the same id, derived from the RequestId, the new status and the write's time
    assert first is not None and again is not None
    assert first.event_id == again.event_id
    assert first.event_id == status_event_id("order-DH240501-confirm", MessageStatus.DELIVERED, AT)
    # And a retry that comes back to SENDING later is another change with another id
    ids = {
        status_event_id("order-DH240501-confirm", MessageStatus.SENDING, "2026-11-27T08:00:00.000Z"),
        status_event_id("order-DH240501-confirm", MessageStatus.SENDING, "2026-11-27T08:00:30.000Z"),
        status_event_id("order-DH240501-confirm", MessageStatus.RETRYING, "2026-11-27T08:00:30.000Z"),
        status_event_id("another-message", MessageStatus.SENDING, "2026-11-27T08:00:00.000Z"),
    }
    assert len(ids) == 4


@pytest.mark.parametrize("status", list(MessageStatus))
def test_is_final_says_whether_the_status_can_ever_change_again(status: MessageStatus) -> None:
    event = status_change(None, record(status), PhoneFormat.MASKED)

    assert event is not None
    assert event.is_final is (status in FINAL_STATUSES)


def test_a_created_message_has_no_previous_status_and_a_moved_one_names_it() -> None:
    created = status_change(None, record(MessageStatus.REJECTED), PhoneFormat.MASKED)
    moved = status_change(record(MessageStatus.SENT), record(MessageStatus.DELIVERED), PhoneFormat.MASKED)

    assert created is not None and created.previous_status is None
    assert moved is not None and moved.previous_status is MessageStatus.SENT


def test_a_write_that_changes_no_status_makes_no_event() -> None:
    # Given a note (an inconclusive report) and the takeover of an expired claim: same status before and after
    note = record(MessageStatus.ACCEPTED, updated_at="2026-11-27T08:05:00.000Z")
    takeover = record(MessageStatus.SENDING, updated_at="2026-11-27T08:06:00.000Z", attempts=2)

    assert status_change(record(MessageStatus.ACCEPTED), note, PhoneFormat.MASKED) is None
    assert status_change(record(MessageStatus.SENDING), takeover, PhoneFormat.MASKED) is None


def test_the_detail_says_why_with_zalos_error_and_esms_code() -> None:
    # Given a report of a failed delivery, kept in the history entry of its change
    entry = HistoryEntry(
        status=MessageStatus.FAILED,
        at=AT,
        detail="Zalo -114: User is inactive",
        data={
            "sms_id": "f665",
            "error_code": "-114",
            "error_message": "User is inactive",
            "source": "callback",
        },
    )
    after = record(
        MessageStatus.FAILED,
        sms_id="f665",
        esms_code="100",
        error="Zalo -114: User is inactive",
        history=[entry],
    )

    event = status_change(record(MessageStatus.ACCEPTED), after, PhoneFormat.MASKED)

    assert event is not None
    assert event.detail() == {
        "eventId": status_event_id("order-DH240501-confirm", MessageStatus.FAILED, AT),
        "requestId": "order-DH240501-confirm",
        "status": "FAILED",
        "previousStatus": "ACCEPTED",
        "isFinal": True,
        "time": AT,
        "phone": "090****484",
        "campaign": "autumn-sale",
        "tempId": "2056446",
        "smsId": "f665",
        "attempts": 1,
        "esmsCode": "100",
        "zaloError": {"code": "-114", "message": "User is inactive"},
        "reason": "Zalo -114: User is inactive",
        "sandbox": False,
        "channel": "zns",
        "fallbackFor": None,
        "fallbackRequestId": None,
        "nextAttemptAt": None,
    }


def test_a_change_without_its_own_history_entry_gives_the_items_error_as_reason() -> None:
    # Given a retry past the first few receives: it writes RETRYING and the error, but no history entry
    old_entry = HistoryEntry(status=MessageStatus.SENDING, at="2026-11-27T08:00:00.000Z", detail="claimed")
    after = record(MessageStatus.RETRYING, error="eSMS answered HTTP 503", history=[old_entry])

    event = status_change(record(MessageStatus.SENDING), after, PhoneFormat.MASKED)

    assert event is not None
    assert event.reason == "eSMS answered HTTP 503"
    assert event.zalo_error is None
