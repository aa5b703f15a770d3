"""The message state machine of DESIGN.md: statuses, the allowed transitions, the stored item."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MessageStatus(StrEnum):
    SENDING = "SENDING"
    RETRYING = "RETRYING"
    ACCEPTED = "ACCEPTED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"


FINAL_STATUSES = frozenset(
    {MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.UNKNOWN}
)

# For each target status, the statuses it may be reached from. A status never moves backwards and a
# final status never changes; the store turns this table into each write's condition.
# Creation (REJECTED, or SENDING by a first claim) and the expired-lease reclaim are the store's.
ALLOWED_SOURCES: dict[MessageStatus, frozenset[MessageStatus]] = {
    MessageStatus.SENDING: frozenset({MessageStatus.RETRYING}),
    MessageStatus.RETRYING: frozenset({MessageStatus.SENDING}),
    MessageStatus.ACCEPTED: frozenset({MessageStatus.SENDING}),
    MessageStatus.SENT: frozenset({MessageStatus.ACCEPTED}),
    MessageStatus.DELIVERED: frozenset({MessageStatus.ACCEPTED, MessageStatus.SENT}),
    MessageStatus.FAILED: frozenset(
        {MessageStatus.SENDING, MessageStatus.RETRYING, MessageStatus.ACCEPTED, MessageStatus.SENT}
    ),
    MessageStatus.UNKNOWN: frozenset({MessageStatus.ACCEPTED, MessageStatus.SENT}),
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
    """The MessagesTable item (fixed attribute names, snake case)."""

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
    history: list[HistoryEntry] = Field(default_factory=list)
