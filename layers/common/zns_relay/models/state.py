"""The message state machine of DESIGN.md: statuses, the allowed transitions, the stored item."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zns_relay.models.fallback import FallbackTrigger, PlannedFallback, outcome_trigger, sms_request_id


class Channel(StrEnum):
    """How a message reaches the person: a Zalo ZNS message, or the SMS sent instead of one."""

    ZNS = "zns"
    SMS = "sms"


class MessageStatus(StrEnum):
    SENDING = "SENDING"
    RETRYING = "RETRYING"
    DEFERRED = "DEFERRED"  # Zalo will take it later (its night window, a daily quota): sent again then
    ACCEPTED = "ACCEPTED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"


FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.REJECTED,
        MessageStatus.EXPIRED,
        MessageStatus.UNKNOWN,
    }
)
# How a keyed fingerprint (zns_relay.sender.fingerprint) starts. An item written before fingerprints
# were keyed holds a plain digest without it: like one written before fingerprints existed, it is taken
# for the same message by a claim, which then writes the keyed one.
KEYED_FINGERPRINT_PREFIX = "k1:"
# Each item's callback nonce, made when the item is created and kept for its life: what its CallbackUrl
# is signed with (zns_relay.reports.callback_url).
CALLBACK_NONCE_CHARS = 22
# Statuses that end a message's `error`: whatever went wrong before no longer stands.
CLEARS_ERROR = frozenset({MessageStatus.ACCEPTED, MessageStatus.SENT, MessageStatus.DELIVERED})
# Not yet accepted by eSMS as far as we know (a delivery report may still prove otherwise).
BEFORE_ACCEPTANCE = frozenset({MessageStatus.SENDING, MessageStatus.RETRYING})
# Accepted by eSMS: waiting for its final delivery report.
WAITING_FOR_REPORT = frozenset({MessageStatus.ACCEPTED, MessageStatus.SENT})


def iso_time(moment: datetime) -> str:
    """A moment as the items' and the answers' times read (ISO 8601, UTC, milliseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_of_epoch(epoch: int | None) -> str | None:
    """Epoch seconds as iso_time writes them."""
    return None if epoch is None else iso_time(datetime.fromtimestamp(epoch, UTC))


def new_callback_nonce() -> str:
    """128 random bits as CALLBACK_NONCE_CHARS base64url characters."""
    return secrets.token_urlsafe(16)


# For each target status, the statuses it may be reached from. A status never moves backwards and a
# final status never changes; the store turns this table into each write's condition. A delivery
# report proves acceptance, so it may move a message that is still SENDING or RETRYING straight on.
# Creation (REJECTED or EXPIRED before any claim, SENDING by a first claim) and the reclaim of an
# expired lease are the store's.
# A DEFERRED message was refused by Zalo for now (zns_relay.models.zalo_rules): its report moves it there
# from wherever a failure report may, and its resend claims it back to SENDING (the store's, as a claim);
# the reconciler ends it EXPIRED when its validity passes meanwhile. Nothing else moves it: a report of
# the refused attempt, late, changes nothing (zns_relay.store.writes.ReportMatch).
ALLOWED_SOURCES: dict[MessageStatus, frozenset[MessageStatus]] = {
    MessageStatus.SENDING: frozenset({MessageStatus.RETRYING}),
    MessageStatus.RETRYING: frozenset({MessageStatus.SENDING}),
    MessageStatus.DEFERRED: BEFORE_ACCEPTANCE | WAITING_FOR_REPORT,
    MessageStatus.ACCEPTED: BEFORE_ACCEPTANCE,
    MessageStatus.SENT: BEFORE_ACCEPTANCE | {MessageStatus.ACCEPTED},
    MessageStatus.DELIVERED: BEFORE_ACCEPTANCE | {MessageStatus.ACCEPTED, MessageStatus.SENT},
    MessageStatus.FAILED: BEFORE_ACCEPTANCE | {MessageStatus.ACCEPTED, MessageStatus.SENT},
    MessageStatus.EXPIRED: BEFORE_ACCEPTANCE | {MessageStatus.DEFERRED},
    MessageStatus.UNKNOWN: BEFORE_ACCEPTANCE | {MessageStatus.ACCEPTED, MessageStatus.SENT},
    MessageStatus.REJECTED: frozenset(),
}


class HistoryEntry(BaseModel):
    """One transition of a message, kept in the item's `history` list."""

    model_config = ConfigDict(frozen=True)

    status: MessageStatus | None = None  # None: a note that changed nothing
    at: str
    detail: str = ""
    data: dict[str, Any] | None = None


class MessageRecord(BaseModel):
    """The MessagesTable item (fixed attribute names, snake case).

    Times people read are ISO strings (`created_at`, `updated_at`, history); times the logic
    compares are epoch seconds (`retry_until`, `valid_until`, `accepted_at`, `uncertain_since`,
    `check_at`, `lease_until`, `expires_at`).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    status: MessageStatus
    phone: str | None = None
    temp_id: str | None = None
    oa_id: str | None = None
    campaign_id: str | None = None
    sms_id: str | None = None
    sandbox: bool = False
    attempts: int = 0
    esms_code: str | None = None
    error: str | None = None
    created_at: str
    updated_at: str
    expires_at: int
    lease_until: int | None = None
    retry_until: int | None = None  # the sender gives up retrying at this time
    valid_until: int | None = None  # never sent after this time (ValidUntil or the deployment default)
    accepted_at: int | None = None  # eSMS accepted it (its answer, a 124, or a first report)
    uncertain_since: int | None = None  # an attempt may have reached eSMS without our knowing
    check_at: int | None = None  # the reconciler looks at the message from this time on
    next_attempt_at: int | None = None  # a DEFERRED message is sent again from this time on
    deferrals: int = 0  # how many times Zalo's rules deferred it
    # Its TempData, sealed, while it may be sent again (zns_relay.sender.temp_data_seal): never shown.
    sealed_temp_data: bytes | None = Field(default=None, exclude=True, repr=False)
    channel: Channel = Channel.ZNS
    fallback: PlannedFallback | None = None  # the SMS to send if it fails; removed when it ends
    fallback_request_id: str | None = None  # the SMS sent instead of it
    fallback_for: str | None = None  # on an SMS: the ZNS message it stands in for
    history: list[HistoryEntry] = Field(default_factory=list)

    @field_validator("fallback", mode="before")
    @classmethod
    def _sealed_only(cls, value: object) -> object:
        """A fallback an earlier version planned with its text in plain text is not sent: no job may
        carry that text (docs/security.md: upgrading)."""
        return None if isinstance(value, dict) and "sealed_content" not in value else value

    def fallback_trigger(self) -> FallbackTrigger | None:
        """The fallback trigger of the message's outcome (None while it is not a failure)."""
        zalo_codes = [
            entry.data["error_code"]
            for entry in reversed(self.history)
            if entry.data and "error_code" in entry.data
        ]
        return outcome_trigger(self.status.value, self.esms_code, zalo_codes)

    def fallback_asked(self, before: MessageRecord) -> bool:
        """Whether the write from `before` to this ends the message in an outcome its planned fallback
        asks for."""
        planned = before.fallback
        return (
            planned is not None
            and before.status not in FINAL_STATUSES
            and self.status in FINAL_STATUSES
            and planned.applies_to(self.fallback_trigger())
        )

    def ended_in_time(self) -> bool:
        """Whether the message ended before its validity passed (an SMS fallback goes out only then)."""
        ended_at = datetime.fromisoformat(self.updated_at.replace("Z", "+00:00")).timestamp()
        return self.valid_until is None or ended_at < self.valid_until

    def fallback_sent_for(self, before: MessageRecord) -> str | None:
        """The RequestId of the SMS the write from `before` to this sends (zns_relay.fallback sends it)."""
        if self.fallback_asked(before) and self.ended_in_time():
            return sms_request_id(self.request_id)
        return None
