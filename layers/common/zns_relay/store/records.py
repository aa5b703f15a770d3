"""The values the message store answers with: what a conditional write did, a claim won or lost, a
message that waits. Plain values, no AWS library: the reconciler's decisions take them as they are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from zns_relay.models.state import Channel, MessageStatus

# What the reconciler reads of a waiting message (by key, after the keys-only waiting-index).
WAITING_ATTRIBUTES = (
    "request_id",
    "status",
    "sms_id",
    "oa_id",
    "phone",
    "attempts",
    "lease_until",
    "retry_until",
    "valid_until",
    "accepted_at",
    "uncertain_since",
    "check_at",
    "channel",
)


class Written(Enum):
    """What a conditional write did; true only when it applied."""

    APPLIED = "applied"
    REFUSED = "refused"  # the item is not in a status (or claim) the write allows
    NO_ITEM = "no item"
    STALE_URL = "stale url"  # a callback's URL was made for an earlier item of this RequestId
    MISMATCHED = "mismatched"  # a report naming another SMSID, or another channel's TypeId
    UNVOUCHED = "unvouched"  # a callback for a message accepted without an SMSID: it cannot teach one
    UNSETTLED = "unsettled"  # the message is still SENDING or RETRYING, which the write did not allow

    def __bool__(self) -> bool:
        return self is Written.APPLIED


@dataclass(frozen=True)
class ClaimedMessage:
    """A won claim: this caller alone may send the message now, and record its result with `token`.

    `took_over` says the claim replaced a holder whose lease ran out: that holder may have reached
    eSMS before it died, so the message may already be accepted.
    """

    request_id: str
    attempts: int
    token: str
    callback_nonce: str  # what its CallbackUrl is signed with (zns_relay.reports.callback_url)
    retry_until: int | None = None
    valid_until: int | None = None
    uncertain_since: int | None = None
    error: str | None = None  # the last attempt's error, if any
    took_over: bool = False
    deferrals: int = 0  # how many times Zalo deferred it: its eSMS RequestId is its attempt's

    @classmethod
    def from_attributes(
        cls, request_id: str, token: str, item: Mapping[str, Any], *, attempts: int, took_over: bool
    ) -> ClaimedMessage:
        """The claim as the item holds it (its attributes as plain values)."""
        return cls(
            request_id=request_id,
            attempts=attempts,
            token=token,
            callback_nonce=item["callback_nonce"],
            retry_until=item.get("retry_until"),
            valid_until=item.get("valid_until"),
            uncertain_since=item.get("uncertain_since"),
            error=item.get("error"),
            took_over=took_over,
            deferrals=int(item.get("deferrals", 0)),
        )

    @property
    def possibly_accepted(self) -> bool:
        return self.took_over or self.uncertain_since is not None

    @property
    def validity_ends_window(self) -> bool:
        """The retry window ends where the validity does (not at the deployment's window length)."""
        return (
            self.valid_until is not None
            and self.retry_until is not None
            and self.valid_until <= self.retry_until
        )


@dataclass(frozen=True)
class ClaimLost:
    """A claim another delivery won (or the message is past sending): how the message stands."""

    status: MessageStatus
    lease_until: int | None = None  # a live holder's lease, while it is SENDING
    fingerprint: str | None = None  # what message holds the RequestId (zns_relay.sender.fingerprint)


@dataclass(frozen=True)
class WaitingMessage:
    """A message the waiting-index lists: what the reconciler needs to decide about it."""

    request_id: str
    status: MessageStatus
    check_at: int
    sms_id: str | None = None
    oa_id: str | None = None
    phone: str | None = None
    attempts: int = 0
    lease_until: int | None = None
    retry_until: int | None = None
    valid_until: int | None = None
    accepted_at: int | None = None
    uncertain_since: int | None = None
    channel: Channel = Channel.ZNS

    @classmethod
    def from_attributes(cls, item: Mapping[str, Any]) -> WaitingMessage:
        """The message as its item holds it (its attributes as plain values)."""
        plain = {name: value for name, value in item.items() if name in WAITING_ATTRIBUTES}
        channel = Channel(plain.get("channel", Channel.ZNS.value))
        return cls(**{**plain, "status": MessageStatus(plain["status"]), "channel": channel})


@dataclass(frozen=True)
class DeferredMessage:
    """What a DEFERRED message's item holds to send it again (zns_relay.store.deferred reads it)."""

    request_id: str
    status: MessageStatus
    phone: str | None = None
    oa_id: str | None = None
    temp_id: str | None = None
    campaign_id: str | None = None
    valid_until: int | None = None
    sealed_temp_data: bytes | None = None  # zns_relay.sender.temp_data_seal
