"""Make moto's SQS fast at a soak's queue depths, and its receive and delete safe under concurrent pollers.

Found by profiling the server process (py-spy) under bench/local_stack_throughput.py, moto 5.2.5.
Each SendMessage, and each message a ReceiveMessage returns, builds the queue's attribute map (for
ContentBasedDeduplication and MessageRetentionPeriod), which counts visible, in-flight and delayed
messages by walking the queue and reading the clock (a ~4 µs datetime round trip) twice per message:
~100 ms per message at a depth of 5,000. ReceiveMessage also walks the whole queue before picking ten and
deep-copies what it returns; DeleteMessage and ChangeMessageVisibility walk it to find a receipt handle.
Fixed: one clock read per request, the retention setting read directly, a receive that stops at its
tenth message and copies shallowly (the response only reads the copy), a receipt-handle index.

Receive, delete and visibility changes also run under the queue's lock: unlocked, as in moto, two pollers
can receive one message, and a delete (which rebuilds the list) can drop a message sent meanwhile
(tests/unit/test_moto_patches.py). So these patches are kept for correctness whatever they buy.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from moto.core.utils import unix_time, unix_time_millis
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes

from local.aws.patches.patching import Patch

MAX_VISIBILITY_TIMEOUT_MS = 43_200_000  # SQS: a message is invisible for at most 12 hours in all
RECEIVE_WAIT_SLICE_SECONDS = 1.0  # a long poll re-checks this often for messages whose visibility ran out


def _receipts(queue: Queue) -> dict[str, Message]:
    """Every receipt handle a message still in the queue was received with (moto accepts old ones too)."""
    receipts: dict[str, Message] = queue.__dict__.setdefault("_receipts_by_handle", {})
    return receipts


def _forget_receipts(queue: Queue, message: Message) -> None:
    receipts = _receipts(queue)
    for handle in message.all_receipt_handles:
        receipts.pop(handle, None)  # type: ignore[arg-type]


def _indexed(queue: Queue, receipt_handle: str) -> Message | None:
    """The message still in `queue` that was received with this handle, if the index knows it."""
    message = _receipts(queue).get(receipt_handle)
    # `in` on the list compares identities in C: microseconds even for a deep queue.
    return message if message is not None and message in queue._messages else None


# --- Counting ----------------------------------------------------------------------------------------


def _available(_original: property) -> property:
    def messages(queue: Queue) -> list[Message]:
        now = unix_time_millis()
        return [m for m in queue._messages if m.visible_at < now and m.delayed_until <= now]

    return property(messages)


def _delayed_count(_original: property) -> property:
    def count(queue: Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if m.delayed_until > now)

    return property(count)


def _not_visible_count(_original: property) -> property:
    def count(queue: Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if m.visible_at >= now)

    return property(count)


def _retention_from_setting(_original: Callable[..., bool]) -> Callable[..., bool]:
    def is_message_valid_based_on_retention_period(
        backend: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        retention_seconds = backend.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
        return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    return is_message_valid_based_on_retention_period


# --- Receiving ---------------------------------------------------------------------------------------


def _take(
    backend: SQSBackend,
    queue: Queue,
    count: int,
    visibility_timeout: int,
    attribute_names: list[str],
) -> list[Message]:
    """moto's ReceiveMessage pass, without its walks of the whole queue; the caller holds the queue's lock."""
    now = unix_time_millis()
    pending_groups = queue.pending_message_groups
    redrive_after = (
        queue.redrive_policy["maxReceiveCount"] if queue.dead_letter_queue and queue.redrive_policy else None
    )
    received: list[Message] = []
    to_dead_letters: list[Message] = []
    for message in list(queue._messages):
        if message.visible_at >= now or message.delayed_until > now:
            continue
        if message in queue.pending_messages:  # visible again: its consumer's visibility timeout ran out
            queue.pending_messages.remove(message)
            pending_groups = queue.pending_message_groups
        if message.group_id and queue.fifo_queue and message.group_id in pending_groups:
            continue
        if redrive_after is not None and message.approximate_receive_count >= redrive_after:
            to_dead_letters.append(message)
            continue
        queue.pending_messages.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        _receipts(queue)[message.receipt_handle] = message  # type: ignore[index]
        delivered = copy.copy(message)  # what the response shows, frozen; moto's response only reads it
        _filter_message_attributes(delivered, attribute_names)
        if not backend.is_message_valid_based_on_retention_period(queue.name, message):
            break
        received.append(delivered)
        if len(received) >= count:
            break
    for message in to_dead_letters:
        queue._messages.remove(message)
        _forget_receipts(queue, message)
        queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
    return received


def _receive_without_scanning(_original: Callable[..., list[Message]]) -> Callable[..., list[Message]]:
    def receive_message(  # noqa: PLR0917 - moto's signature
        backend: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Message]:
        queue = backend.get_queue(queue_name)
        polling_end = unix_time() + wait_seconds_timeout
        with queue._messages_lock:
            while True:
                received = _take(backend, queue, count, visibility_timeout, message_attribute_names or [])
                remaining = polling_end - unix_time()
                if received or remaining <= 0:
                    return received
                queue._messages_lock.wait(min(remaining, RECEIVE_WAIT_SLICE_SECONDS))  # SendMessage wakes it

    return receive_message


# --- Deleting and changing visibility by receipt handle ---------------------------------------------


def _indexed_delete(original: Callable[[Queue, str], None]) -> Callable[[Queue, str], None]:
    @functools.wraps(original)
    def delete_message(queue: Queue, receipt_handle: str) -> None:
        with queue._messages_lock:
            message = _indexed(queue, receipt_handle)
            if message is None:  # deleted already, never received here, or invalid: moto's own answer
                original(queue, receipt_handle)
                return
            queue._messages.remove(message)
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
            _forget_receipts(queue, message)

    return delete_message


def _indexed_visibility(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def change_message_visibility(
        backend: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = backend.get_queue(queue_name)
        with queue._messages_lock:
            message = _indexed(queue, receipt_handle)
            if message is None:
                original(backend, queue_name, receipt_handle, visibility_timeout)
                return
            visible_again_at = unix_time_millis() + int(visibility_timeout) * 1000
            if visible_again_at - message.sent_timestamp > MAX_VISIBILITY_TIMEOUT_MS:  # type: ignore[operator]
                raise InvalidParameterValue(
                    f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                    "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
                )
            message.change_visibility(visibility_timeout)
            if message.visible and message in queue.pending_messages:
                queue.pending_messages.remove(message)

    return change_message_visibility


def _purge_forgets_receipts(original: Callable[[SQSBackend, str], None]) -> Callable[[SQSBackend, str], None]:
    @functools.wraps(original)
    def purge_queue(backend: SQSBackend, queue_name: str) -> None:
        queue = backend.get_queue(queue_name)
        with queue._messages_lock:
            original(backend, queue_name)
            _receipts(queue).clear()

    return purge_queue


PATCHES = (
    Patch(
        Queue,
        "messages",
        _available,
        "03a531dbcbcf",
        why="SQS: the queue's messages listed with one clock read, not two per message",
    ),
    Patch(
        Queue,
        "approximate_number_of_messages_delayed",
        _delayed_count,
        "c3c1dadb0c42",
        why="SQS: delayed messages counted with one clock read",
    ),
    Patch(
        Queue,
        "approximate_number_of_messages_not_visible",
        _not_visible_count,
        "5dbecc4dda17",
        why="SQS: in-flight messages counted with one clock read",
    ),
    Patch(
        SQSBackend,
        "is_message_valid_based_on_retention_period",
        _retention_from_setting,
        "cca23b94a5f3",
        why="SQS: retention read from its setting, not from the whole attribute map (which counts the queue)",
    ),
    Patch(
        SQSBackend,
        "receive_message",
        _receive_without_scanning,
        "065f3e5e7d21",
        why="SQS: a receive stops at its tenth message and copies shallowly, under the queue's lock",
    ),
    Patch(
        Queue,
        "delete_message",
        _indexed_delete,
        "fa6fd5b9bd2c",
        why="SQS: a delete finds its receipt handle in an index, under the queue's lock (no lost send)",
    ),
    Patch(
        SQSBackend,
        "change_message_visibility",
        _indexed_visibility,
        "f0e9df5f6662",
        why="SQS: a visibility change finds its receipt handle in an index, under the queue's lock",
    ),
    Patch(
        SQSBackend,
        "purge_queue",
        _purge_forgets_receipts,
        "443ea1ae7b15",
        why="SQS: a purge empties the receipt-handle index with the queue",
    ),
)
