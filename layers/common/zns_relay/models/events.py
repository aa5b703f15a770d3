"""The status event producers hear: one "ZNS Message Status Changed" event per status change.

An event is made from the item before and after one write of MessagesTable (its change stream), so
the same change always makes the same event: its `eventId` comes from the RequestId, the new status
and the time of the write, however often the stream or EventBridge delivers it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from zns_relay.models.state import (
    FINAL_STATUSES,
    Channel,
    HistoryEntry,
    MessageRecord,
    MessageStatus,
    iso_of_epoch,
)

EVENT_SOURCE = "zns-relay"
DETAIL_TYPE = "ZNS Message Status Changed"
# Fixed for ever: event ids derive from it, and consumers compare ids across deployments and replays.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c64d4-2b0e-4d55-9a51-1f3c7e0d8a92")


class PhoneFormat(StrEnum):
    """How an event shows the phone number (the EventPhoneFormat parameter)."""

    MASKED = "masked"
    FULL = "full"


class ZaloError(BaseModel):
    """Zalo's reason a delivery failed, as eSMS's report gave it."""

    # Built at the first event made (defer_build): of the functions importing this module, only the
    # publisher makes events. `message` is in every detail, null or not (as StatusChanged's keys).
    model_config = ConfigDict(frozen=True, defer_build=True, json_schema_serialization_defaults_required=True)

    code: str
    message: str | None = None


class StatusChanged(BaseModel):
    """An event's `detail` (camelCase on the bus)."""

    # Built at the first event made (defer_build), as ZaloError. Every key is in every detail, those
    # with a default too: its JSON Schema requires them all (json_schema_serialization_defaults_required).
    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        defer_build=True,
        json_schema_serialization_defaults_required=True,
    )

    event_id: str
    request_id: str
    status: MessageStatus
    previous_status: MessageStatus | None  # None: the message was created in this status
    is_final: bool
    time: str  # when the status changed (ISO 8601, UTC, milliseconds)
    phone: str | None
    campaign: str | None
    temp_id: str | None
    sms_id: str | None
    attempts: int
    esms_code: str | None
    zalo_error: ZaloError | None
    reason: str | None
    sandbox: bool
    channel: Channel = Channel.ZNS
    fallback_for: str | None = None  # an SMS fallback: the ZNS message it stands in for
    fallback_request_id: str | None = None  # a ZNS message: the SMS fallback sent instead of it
    next_attempt_at: str | None = None  # DEFERRED: when it is sent again (ISO 8601, UTC)

    def detail(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def status_event_json_schema() -> dict[str, Any]:
    """The JSON Schema of an event's `detail`, as committed in schema/status-event-detail.schema.json."""
    schema = StatusChanged.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def status_event_id(request_id: str, status: MessageStatus, changed_at: str) -> str:
    """The same id for every delivery of one change, a different one for every other change."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{request_id}|{status.value}|{changed_at}"))


def mask_phone(phone: str) -> str:
    """0901888484 -> 090****484: the network prefix and the last three digits, no more."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 6)}{phone[-3:]}"


def status_change(
    before: MessageRecord | None, after: MessageRecord, phone_format: PhoneFormat
) -> StatusChanged | None:
    """The event of one write, or None when the write changed no status (a note, a reschedule, the
    takeover of an expired claim)."""
    if before is not None and before.status == after.status:
        return None
    entry = _entry_of_this_change(after)
    phone = after.phone
    if phone is not None and phone_format is PhoneFormat.MASKED:
        phone = mask_phone(phone)
    return StatusChanged(
        event_id=status_event_id(after.request_id, after.status, after.updated_at),
        request_id=after.request_id,
        status=after.status,
        previous_status=before.status if before is not None else None,
        is_final=after.status in FINAL_STATUSES,
        time=after.updated_at,
        phone=phone,
        campaign=after.campaign_id,
        temp_id=after.temp_id,
        sms_id=after.sms_id,
        attempts=after.attempts,
        esms_code=after.esms_code,
        zalo_error=_zalo_error(entry),
        reason=entry.detail if entry is not None and entry.detail else after.error,
        sandbox=after.sandbox,
        channel=after.channel,
        fallback_for=after.fallback_for,
        fallback_request_id=after.fallback_sent_for(before) if before is not None else None,
        next_attempt_at=iso_of_epoch(after.next_attempt_at)
        if after.status is MessageStatus.DEFERRED
        else None,
    )


def _entry_of_this_change(after: MessageRecord) -> HistoryEntry | None:
    """The history entry the write added, if it added one (a retry past the first few adds none)."""
    if after.history:
        last = after.history[-1]
        if last.status == after.status and last.at == after.updated_at:
            return last
    return None


def _zalo_error(entry: HistoryEntry | None) -> ZaloError | None:
    data = entry.data if entry is not None else None
    if not data or "error_code" not in data:
        return None
    message = data.get("error_message")
    return ZaloError(code=str(data["error_code"]), message=str(message) if message is not None else None)
