"""What a delivery does when another has claimed its RequestId (the store's ClaimLost).

Another delivery sending it right now: come back when that one's lease ends, in case it dies (this
record may be the only copy left). Otherwise it is past sending: nothing to send, and a different
message under the same RequestId is recorded on the first one's history.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum
from typing import TYPE_CHECKING

from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.events import mask_phone
from zns_relay.models.state import KEYED_FINGERPRINT_PREFIX, MessageStatus

if TYPE_CHECKING:
    from zns_relay.store.records import ClaimLost


class Holder(Enum):
    """Which message holds a RequestId whose claim was lost."""

    THIS_MESSAGE = "this message"
    THIS_MESSAGE_UNDER_A_NEWER_KEY = "this message, fingerprinted under a key this sender lacked"
    ANOTHER_MESSAGE = "another message"


def lease_wait(lost: ClaimLost, now: int) -> int | None:
    """Seconds until the live holder's lease ends, when another delivery is sending the message now;
    None when it is not (the message is past sending, or its holder died)."""
    if lost.status is not MessageStatus.SENDING or (lost.lease_until or 0) < now:
        return None
    return lost.lease_until - now + 1 if lost.lease_until else 1


def holder_by_known_keys(lost: ClaimLost, fingerprints: Collection[str]) -> Holder | None:
    """Which message holds the RequestId, told by this message's `fingerprints` under the keys the
    sender holds. A REJECTED item without a fingerprint never held a sendable body (it broke the
    contract), so any sendable one is another message; one the template check rejected holds its
    message's fingerprint, as a claimed item does. An item with no fingerprint, or one from before
    fingerprints were keyed, is taken for this one. None: a keyed fingerprint under neither key, which
    may be under a key rotated in since the sender read the secret: `holder_by_reread_keys` tells, with
    the fingerprints under the keys read again."""
    held = lost.fingerprint
    if lost.status is MessageStatus.REJECTED and held is None:
        return Holder.ANOTHER_MESSAGE
    if held is None or not held.startswith(KEYED_FINGERPRINT_PREFIX) or held in fingerprints:
        return Holder.THIS_MESSAGE
    return None


def holder_by_reread_keys(lost: ClaimLost, reread_fingerprints: Collection[str]) -> Holder:
    """Which message holds the RequestId when `holder_by_known_keys` could not tell."""
    if lost.fingerprint in reread_fingerprints:
        return Holder.THIS_MESSAGE_UNDER_A_NEWER_KEY
    return Holder.ANOTHER_MESSAGE


def reuse_note(request: ZaloSendRequest, sqs_message_id: str) -> tuple[str, dict[str, object]]:
    """What the message holding a reused RequestId notes on its history: a detail, and its data."""
    detail = (
        f"RequestId reused by a different message (TempID {request.temp_id}, to "
        f"{mask_phone(request.phone)}): not sent; give every message its own RequestId"
    )
    return detail, {"sqs_message_id": sqs_message_id, "temp_id": request.temp_id, "phone": request.phone}
