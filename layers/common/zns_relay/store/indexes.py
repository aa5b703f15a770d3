"""Where MessagesTable's indexes list a message: the sparse waiting-index (the messages that wait,
for the reconciler) and the status-index (the others, for the status API), each spread over shards."""

from __future__ import annotations

import zlib

from zns_relay.models.state import MessageStatus

WAITING_INDEX = "waiting-index"
SMS_ID_INDEX = "sms_id-index"
# Items waiting for the reconciler spread over this many index partitions, so that a busy day's
# writes to the sparse index never meet one partition's throughput limit.
AWAITING_SHARDS = 16
# The status API's status-index holds the messages that no longer wait: its key is spread over this
# many shards per status ("DELIVERED#0" .. "DELIVERED#7"), which the API merges newest first.
STATUS_SHARDS = 8


def awaiting_shard(request_id: str) -> str:
    """The waiting-index key of a message that waits (its `awaiting` attribute: the index's old name)."""
    return str(zlib.crc32(request_id.encode()) % AWAITING_SHARDS)


def awaiting_shards() -> tuple[str, ...]:
    """Every waiting-index key: "0" .. "15"."""
    return tuple(str(shard) for shard in range(AWAITING_SHARDS))


def status_shards(status: MessageStatus) -> list[str]:
    """The status-index keys of `status`: "<status>#0" .. "<status>#7"."""
    return [f"{status.value}#{shard}" for shard in range(STATUS_SHARDS)]


def status_shard(status: MessageStatus, request_id: str) -> str:
    """The status-index key of a message in `status` (its shard is fixed per message)."""
    return status_shards(status)[zlib.crc32(request_id.encode()) % STATUS_SHARDS]
