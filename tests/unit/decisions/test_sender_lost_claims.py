"""What a delivery makes of a claim another won (zns_relay.sender.lost_claims)."""

from __future__ import annotations

import pytest

from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.state import KEYED_FINGERPRINT_PREFIX, MessageStatus
from zns_relay.sender.lost_claims import (
    Holder,
    holder_by_known_keys,
    holder_by_reread_keys,
    lease_wait,
    reuse_note,
)
from zns_relay.store.records import ClaimLost

NOW = 1_800_000_000
OURS = f"{KEYED_FINGERPRINT_PREFIX}ours"
OURS_UNDER_NEW_KEY = f"{KEYED_FINGERPRINT_PREFIX}ours-new-key"
THEIRS = f"{KEYED_FINGERPRINT_PREFIX}theirs"


@pytest.mark.parametrize(
    ("lost", "wait"),
    [
        (ClaimLost(MessageStatus.SENDING, lease_until=NOW + 30), 31),  # back just after its lease ends
        (ClaimLost(MessageStatus.SENDING, lease_until=NOW), 1),
        (ClaimLost(MessageStatus.SENDING, lease_until=NOW - 1), None),  # its holder died: past sending
        (ClaimLost(MessageStatus.ACCEPTED), None),
        (ClaimLost(MessageStatus.RETRYING, lease_until=NOW + 30), None),
    ],
)
def test_a_message_another_delivery_is_sending_comes_back_after_that_ones_lease(
    lost: ClaimLost, wait: int | None
) -> None:
    assert lease_wait(lost, NOW) == wait


@pytest.mark.parametrize(
    ("lost", "holder"),
    [
        (ClaimLost(MessageStatus.ACCEPTED, fingerprint=OURS), Holder.THIS_MESSAGE),
        (ClaimLost(MessageStatus.ACCEPTED, fingerprint=None), Holder.THIS_MESSAGE),  # before fingerprints
        (ClaimLost(MessageStatus.ACCEPTED, fingerprint="unkeyed-digest"), Holder.THIS_MESSAGE),
        # A contract violation's: never a sendable body, so any sendable one is another message
        (ClaimLost(MessageStatus.REJECTED, fingerprint=None), Holder.ANOTHER_MESSAGE),
        # The template check's: it holds the fingerprint of the message it refused
        (ClaimLost(MessageStatus.REJECTED, fingerprint=OURS), Holder.THIS_MESSAGE),
        (ClaimLost(MessageStatus.REJECTED, fingerprint=THEIRS), None),
        (ClaimLost(MessageStatus.DELIVERED, fingerprint=THEIRS), None),  # perhaps under a newer key
    ],
)
def test_which_message_holds_the_requestid_by_the_keys_the_sender_holds(
    lost: ClaimLost, holder: Holder | None
) -> None:
    assert holder_by_known_keys(lost, (OURS, f"{KEYED_FINGERPRINT_PREFIX}ours-old-key")) is holder


@pytest.mark.parametrize(
    ("held", "holder"),
    [(OURS_UNDER_NEW_KEY, Holder.THIS_MESSAGE_UNDER_A_NEWER_KEY), (THEIRS, Holder.ANOTHER_MESSAGE)],
)
def test_a_fingerprint_under_neither_key_is_this_messages_only_under_a_key_read_again(
    held: str, holder: Holder
) -> None:
    assert (
        holder_by_reread_keys(ClaimLost(MessageStatus.DELIVERED, fingerprint=held), (OURS_UNDER_NEW_KEY,))
        is holder
    )


def test_a_reused_requestid_is_noted_with_the_other_messages_template_and_masked_phone() -> None:
    request = ZaloSendRequest(
        phone="84912345678", oa_id="oa", temp_id="123", temp_data=(), request_id="r-1", sandbox=False
    )
    detail, data = reuse_note(request, "sqs-2")
    assert detail.startswith("RequestId reused by a different message (TempID 123, to ")
    assert "84912345678" not in detail
    assert detail.endswith("): not sent; give every message its own RequestId")
    assert data == {"sqs_message_id": "sqs-2", "temp_id": "123", "phone": "84912345678"}
