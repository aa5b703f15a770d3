"""Make moto's DynamoDB stream hold one record per write, as DynamoDB's does.

An UpdateItem that creates its item makes moto first put a placeholder holding only the key, then apply
the update: two INSERT records, the first with an image no real write ever makes. The publisher would
rightly refuse that image as unreadable, so the placeholder's record is left out here (in-process mocks
and server mode alike).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard

_updating = threading.local()


def _patched() -> tuple[Any, Any]:
    original_update = DynamoDBBackend.update_item
    original_add = StreamShard.add

    def update_item(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        _updating.active = True
        try:
            return original_update(self, *args, **kwargs)
        finally:
            _updating.active = False

    def add(self: StreamShard, old: Any, new: Any) -> None:
        keys = {self.table.hash_key_attr, self.table.range_key_attr}
        if getattr(_updating, "active", False) and old is None and new is not None and set(new.attrs) <= keys:
            return  # the placeholder of the item this update creates: the update's own record follows
        original_add(self, old, new)

    return update_item, add


@contextmanager
def one_stream_record_per_write() -> Iterator[None]:
    """For `mock_aws()`: patch moto while the context lasts."""
    original = DynamoDBBackend.update_item, StreamShard.add
    DynamoDBBackend.update_item, StreamShard.add = _patched()  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.update_item, StreamShard.add = original  # type: ignore[method-assign]


def patch_for_server() -> None:
    """For moto's server process: patch moto for the life of the process."""
    DynamoDBBackend.update_item, StreamShard.add = _patched()  # type: ignore[method-assign]
