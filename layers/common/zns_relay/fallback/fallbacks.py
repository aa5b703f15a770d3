"""Sending the SMS fallback when a ZNS message ends in an outcome that asks for it.

Triggered from the table's change stream, by the write that made the message final, so that every
path that ends a message (a callback, the reconciler, the sender) gets it without code of its own.
The message's item kept its planned fallback until then; the final write removed it, so the stream's
old image holds it. The SMS is queued on FallbackQueue for the sender, which sends it as a message of
its own (its RequestId derived from the original's: however often the stream delivers the change, its
claim lets one SMS out), and the original notes which SMS stands in for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import ValidationError

from zns_relay.config.observability import count, logger
from zns_relay.models.contract import describe_validation_error
from zns_relay.models.fallback import sms_request_id
from zns_relay.models.fallback_job import FallbackJob
from zns_relay.models.state import FINAL_STATUSES, Channel, MessageRecord
from zns_relay.models.stream import ItemChange
from zns_relay.store.items import from_item
from zns_relay.store.messages import MessageStore


class JobQueue(Protocol):
    def put(self, job: FallbackJob) -> None: ...


class Fallbacks:
    def __init__(self, store: MessageStore, queue: JobQueue) -> None:
        self._store = store
        self._queue = queue

    def handle(self, changes: Sequence[ItemChange]) -> list[str]:
        """Act on every message that just ended; return the sequence numbers not done (the first that
        failed and all after it, so that the stream retries them in order)."""
        count("FallbackRecordsExamined", len(changes))
        for position, change in enumerate(changes):
            try:
                self._handle(change)
            except Exception as error:
                # An image that does not read is told by its fields: pydantic's own text quotes the values.
                reason = describe_validation_error(error) if isinstance(error, ValidationError) else None
                logger.error(
                    "fallback not handled: handed back",
                    extra={
                        "sequence_number": change.sequence_number,
                        "reason": reason or type(error).__name__,
                    },
                    exc_info=reason is None,
                )
                return [later.sequence_number for later in changes[position:]]
        return []

    def _handle(self, change: ItemChange) -> None:
        if change.old_image is None or change.new_image is None:
            return
        before = MessageRecord.model_validate(from_item(change.old_image))
        after = MessageRecord.model_validate(from_item(change.new_image))
        if before.status in FINAL_STATUSES or after.status not in FINAL_STATUSES:
            return  # not the write that ended the message
        if after.channel is Channel.SMS:
            count(f"FallbackSms{after.status.value.capitalize()}")
            return
        planned = before.fallback
        if planned is None or not after.fallback_asked(before):
            return
        trigger = after.fallback_trigger()
        if not after.ended_in_time():
            count("FallbacksTooLate")
            self._note(after, f"{trigger}: SMS fallback not sent, its validity (ValidUntil) had passed", None)
            return
        sms_id = sms_request_id(after.request_id)
        self._queue.put(
            FallbackJob(
                request_id=sms_id,
                fallback_for=after.request_id,
                phone=after.phone or "",
                sealed_content=planned.sealed_content,  # opened only by the sender, to send it
                brandname=planned.brandname,
                is_unicode=planned.is_unicode,
                campaign_id=after.campaign_id,
                valid_until=after.valid_until,
                sandbox=after.sandbox,
            )
        )
        count("FallbacksQueued")
        logger.info("SMS fallback queued", extra={"request_id": after.request_id, "trigger": trigger})
        self._note(after, f"{trigger}: SMS fallback {sms_id} queued", sms_id)

    def _note(self, message: MessageRecord, detail: str, sms_id: str | None) -> None:
        self._store.note(
            message.request_id,
            detail,
            {"fallback_request_id": sms_id} if sms_id else None,
            while_in=frozenset({message.status}),
            keep_fields={"fallback_request_id": sms_id},
        )
