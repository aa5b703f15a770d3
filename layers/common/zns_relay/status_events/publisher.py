"""Publish status changes from MessagesTable's change stream to the status event bus.

Every write of the table passes through here in stream order; the writes that changed a status become
events (zns_relay.models.events), put on the bus ten to a PutEvents call. An entry EventBridge refuses
is retried a few times at once; what still fails is handed back to the stream, with every record after
it, so Lambda retries from there (events already published then come again, under the same eventId).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from zns_relay.config.observability import count, logger
from zns_relay.models.events import DETAIL_TYPE, EVENT_SOURCE, PhoneFormat, StatusChanged, status_change
from zns_relay.models.state import MessageRecord
from zns_relay.models.stream import ItemChange
from zns_relay.store.items import from_item

PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge's limit per PutEvents call


@dataclass(frozen=True)
class _Pending:
    position: int  # of its record in the batch
    entry: dict[str, Any]


class StatusEventPublisher:
    """Turns a batch of stream records into status events on the bus; safe to reuse across invocations."""

    def __init__(
        self,
        client: Any,
        bus_name: str,
        phone_format: PhoneFormat = PhoneFormat.MASKED,
        *,
        attempts: int = 3,
        retry_delay_seconds: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._bus = bus_name
        self._phone_format = phone_format
        self._attempts = attempts
        self._retry_delay = retry_delay_seconds
        self._sleep = sleep

    def publish(self, changes: Sequence[ItemChange]) -> list[str]:
        """Publish the batch's status changes in order; return the sequence numbers not done (the first
        record that failed and every one after it), empty when all went."""
        first_failed: int | None = None
        pending: list[_Pending] = []
        for position, change in enumerate(changes):
            try:
                event = self.event_of(change)
            except (ValidationError, ValueError, KeyError):
                logger.exception(
                    "stream record unreadable", extra={"sequence_number": change.sequence_number}
                )
                first_failed = position
                break
            if event is not None:
                pending.append(_Pending(position, self._entry(event)))
        published = 0
        for start in range(0, len(pending), PUT_EVENTS_MAX_ENTRIES):
            chunk = pending[start : start + PUT_EVENTS_MAX_ENTRIES]
            refused = self._put(chunk)
            published += len(chunk) - len(refused)
            if refused:
                first_failed = refused[0].position
                break
        count("StatusEventsPublished", published)
        if first_failed is None:
            return []
        handed_back = [change.sequence_number for change in changes[first_failed:]]
        count("StatusEventsFailed", len(handed_back))
        logger.error(
            "status events not published: handed back to the stream", extra={"records": len(handed_back)}
        )
        return handed_back

    def event_of(self, change: ItemChange) -> StatusChanged | None:
        """The status event of one stream record, or None for a write that changed no status."""
        if change.new_image is None:
            return None  # the item was deleted (its retention ran out): no status changed
        before = _record(change.old_image) if change.old_image is not None else None
        return status_change(before, _record(change.new_image), self._phone_format)

    def _entry(self, event: StatusChanged) -> dict[str, Any]:
        return {
            "EventBusName": self._bus,
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(event.detail(), ensure_ascii=False),
            "Time": datetime.fromisoformat(event.time.replace("Z", "+00:00")),
        }

    def _put(self, chunk: list[_Pending]) -> list[_Pending]:
        """Put one chunk, retrying refused entries; return those still refused."""
        remaining = chunk
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._retry_delay * 2 ** (attempt - 1))
            try:
                response = self._client.put_events(Entries=[item.entry for item in remaining])
            except (ClientError, BotoCoreError) as error:
                logger.warning("PutEvents failed", extra={"error": str(error), "attempt": attempt + 1})
                continue
            results = response.get("Entries", [])
            remaining = [
                item for item, result in zip(remaining, results, strict=True) if "ErrorCode" in result
            ]
            if not remaining:
                return []
            logger.warning(
                "EventBridge refused entries",
                extra={
                    "errors": sorted({result["ErrorCode"] for result in results if "ErrorCode" in result})
                },
            )
        return remaining


def _record(image: Mapping[str, Any]) -> MessageRecord:
    return MessageRecord.model_validate(from_item(image))
