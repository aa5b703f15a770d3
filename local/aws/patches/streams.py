"""Make moto's DynamoDB stream hold one record per write, as DynamoDB's does.

An UpdateItem that creates its item makes moto first put a placeholder holding only the key, then apply
the update: two INSERT records, the first with an image no real write ever makes. The publisher would
rightly refuse that image as unreadable, so the placeholder's record is left out here (in-process mocks
and server mode alike). An UpdateItem under way is marked by `marked_as_update`, which is part of the
one patch of DynamoDBBackend.update_item (local.aws.patches.atomic), not a patch of its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard

from local.aws.patches.patching import Patch, patched

_updating = threading.local()  # .active: this thread is in moto's UpdateItem


def marked_as_update(update_item: Callable[..., Any]) -> Callable[..., Any]:
    """moto's UpdateItem, with this thread marked as updating while it runs."""

    @functools.wraps(update_item)
    def update(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        _updating.active = True
        try:
            return update_item(backend, *args, **kwargs)
        finally:
            _updating.active = False

    return update


def _without_placeholders(
    add: Callable[[StreamShard, Any, Any], None],
) -> Callable[[StreamShard, Any, Any], None]:
    @functools.wraps(add)
    def add_record(shard: StreamShard, old: Any, new: Any) -> None:
        keys = {shard.table.hash_key_attr, shard.table.range_key_attr}
        if getattr(_updating, "active", False) and old is None and new is not None and set(new.attrs) <= keys:
            return  # the placeholder of the item this update creates: the update's own record follows
        add(shard, old, new)

    return add_record


PATCHES = (
    Patch(
        StreamShard,
        "add",
        _without_placeholders,
        "357dc6da267e",
        why="an UpdateItem that creates its item makes one INSERT record, not a placeholder's too",
    ),
)


def one_stream_record_per_write() -> AbstractContextManager[None]:
    """For `mock_aws()`: patch moto while the context lasts (with moto_atomic's, which marks the updates)."""
    return patched(PATCHES)
