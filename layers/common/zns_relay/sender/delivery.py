"""A queued record as the sender sees it, what it is to send, and what handling it came to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from zns_relay.models.esms import SendRequest
from zns_relay.models.pause import Pause
from zns_relay.models.suppression import Suppression


@dataclass(frozen=True)
class SqsDelivery:
    """The parts of an SQS record the logic needs."""

    message_id: str
    body: str
    receive_count: int
    sent_at: datetime  # when the producer published it (SQS SentTimestamp): the default validity's start


@dataclass(frozen=True)
class HeldBack:
    """What stops a message now: the person's refusal (it is not sent), or a pause (it waits unsent)."""

    refusal: Suppression | None = None
    pause: Pause | None = None


@dataclass(frozen=True)
class Sendable:
    """What a delivery is to claim and send: its request (what is sealed left out), the fields its item
    is written with, and how what is sealed is opened once the claim is won, only to send it."""

    request: SendRequest
    fields: Mapping[str, object]
    valid_until: int | None
    reveal: Callable[[SendRequest], SendRequest] | None = None
    earlier_fingerprints: tuple[str, ...] = ()  # the same message's under the previous key
    held: HeldBack | None = None  # claimed, then not sent: FAILED (or its SMS) or DEFERRED
    resend: bool = False  # a DEFERRED message sent again: claimed from DEFERRED alone


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"
    WAITING = "waiting"  # the window ended after an attempt eSMS may have accepted: its report decides
    DEFERRED = "deferred"  # held unsent while Zalo paused its OA or template: the reconciler resends it
    RETRY = "retry"  # back to the queue, seen again after `retry_after_seconds`
    HANDED_BACK = "handed back"  # not claimed: no time left in the invocation, or no send slot in time
    SKIPPED = "skipped"  # another delivery owns or has finished this RequestId


# What the SQS record becomes: RETRY and HANDED_BACK go back to the queue, the rest are done with.
BACK_TO_QUEUE = frozenset({Outcome.RETRY, Outcome.HANDED_BACK})


@dataclass(frozen=True)
class SendOutcome:
    outcome: Outcome
    request_id: str
    detail: str = ""
    retry_after_seconds: int = 0
