"""Make moto's DynamoDB apply each write atomically, as DynamoDB does, without reads stalling writes.

DynamoDB evaluates a ConditionExpression and applies the write as one atomic step; moto checks and
writes without a lock, so two concurrent claims of one RequestId could both win inside moto even though
they never could on AWS. The idempotency tests and the local stack depend on the real semantics. The
same patches serve the in-process mock (atomic_dynamodb_in_process) and the moto server (installed in
its process by local.aws.server). Checked against moto 5.2.5 (see local.aws.patches.patching):

- Writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, PartiQL) hold the lock of
  every table they name for the whole request: moto's condition check, its write and the old image it
  reads for ReturnValues are one step. One lock per table, so writes to different tables never wait.
- moto's UpdateItem changes the stored item in place. Here it changes a private copy that then stands
  in the table (copy on write): an item object, once the write that made it is over, never changes.
  (The one patch of DynamoDBBackend.update_item also marks the update for local.aws.patches.streams.)
- Reads hold the table's lock only while they pick up what they read: GetItem its item, Scan and Query
  a copy of the table's item map, DynamoDB Streams' GetRecords the shard's records. They do their work
  unlocked, on items no write will touch: a Scan never blocks writes for its duration, and never sees
  half a write. And since no write changes an item it has published, Scan and Query share the items
  they return where moto would deep-copy each one, and remember each item's size (which moto adds up
  again for every item of every page): together two thirds of a Scan's time.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from moto.dynamodb.exceptions import MockValidationException, ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

from local.aws.patches.patching import Patch, patched
from local.aws.patches.streams import marked_as_update

TableKey = tuple[str, str, str]  # account, region, table name
Action = Callable[[Any], Any]


class TableLocks:
    """One re-entrant lock per table. Several are always taken in sorted order, so they cannot deadlock."""

    def __init__(self) -> None:
        self._locks: dict[TableKey, threading.RLock] = {}
        self._guard = threading.Lock()

    def of(self, key: TableKey) -> threading.RLock:
        lock = self._locks.get(key)
        if lock is None:
            with self._guard:
                lock = self._locks.setdefault(key, threading.RLock())
        return lock

    @contextmanager
    def holding(self, keys: Iterable[TableKey]) -> Iterator[None]:
        with ExitStack() as stack:
            for key in sorted(set(keys)):
                stack.enter_context(self.of(key))
            yield


LOCKS = TableLocks()


def table_key(table: Table) -> TableKey:
    return (table.account_id, table.region_name, table.name)


# --- Writes: the whole request under the locks of the tables it names --------------------------------


def _one_table(handler: DynamoHandler) -> Iterable[Any]:
    return [handler.body.get("TableName")]


def _batch_tables(handler: DynamoHandler) -> Iterable[Any]:
    return list(handler.body.get("RequestItems") or {})


def _transaction_tables(handler: DynamoHandler) -> Iterable[Any]:
    return [
        operation.get("TableName")
        for entry in handler.body.get("TransactItems") or []
        for operation in entry.values()
        if isinstance(operation, dict)
    ]


def _every_table(handler: DynamoHandler) -> Iterable[Any]:
    """PartiQL statements read every table (moto hands them all to its PartiQL engine)."""
    return list(handler.dynamodb_backend.tables)


def _table_name(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:") and ":table/" in name_or_arn:
        return name_or_arn.split(":table/", 1)[1].split("/", 1)[0]
    return name_or_arn


def _locking(tables_named: Callable[[DynamoHandler], Iterable[Any]]) -> Callable[[Action], Action]:
    def replace(action: Action) -> Action:
        @functools.wraps(action)
        def locked(handler: DynamoHandler) -> Any:
            try:
                names = [_table_name(name) for name in tables_named(handler) if isinstance(name, str)]
            except (AttributeError, TypeError):  # a malformed request: moto answers it with its own error
                names = []
            keys = [(handler.current_account, handler.region, name) for name in names]
            with LOCKS.holding(keys):
                return action(handler)

        return locked

    return replace


# --- Copy on write ---------------------------------------------------------------------------------


def _key_values(table: Table, key: dict[str, Any]) -> tuple[DynamoType, DynamoType | None] | None:
    """The item's hash and range key as moto stores them; None when `key` does not name them."""
    if not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    if table.range_key_attr is None:
        return DynamoType(key[table.hash_key_attr]), None
    if table.range_key_attr not in key:
        return None
    return DynamoType(key[table.hash_key_attr]), DynamoType(key[table.range_key_attr])


def _put(table: Table, hash_value: DynamoType, range_value: DynamoType | None, item: Item | None) -> None:
    """Make `item` the stored item under these keys (None: no item)."""
    slot: dict[Any, Any] = table.items if range_value is None else table.items[hash_value]
    slot_key = hash_value if range_value is None else range_value
    if item is None:
        slot.pop(slot_key, None)
    else:
        slot[slot_key] = item


def _copy_on_write(update_item: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(update_item)
    def update(
        backend: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Item:
        try:
            table = backend.get_table(table_name)
        except ResourceNotFoundException:
            return update_item(backend, table_name, key, *args, **kwargs)  # moto's own error
        keys = _key_values(table, key)
        if keys is None:
            return update_item(backend, table_name, key, *args, **kwargs)
        with LOCKS.of(table_key(table)):
            try:
                stored = table.get_item(*keys)
            except MockValidationException:
                return update_item(backend, table_name, key, *args, **kwargs)
            if stored is not None:
                _put(table, *keys, copy.deepcopy(stored))
            try:
                return update_item(backend, table_name, key, *args, **kwargs)
            except BaseException:
                _put(table, *keys, stored)  # refused or failed: the item stays exactly as it was
                raise

    return update


def _copy_on_write_marked(update_item: Callable[..., Item]) -> Callable[..., Item]:
    """UpdateItem's one patch: copy on write around moto's update marked for its stream records."""
    return _copy_on_write(marked_as_update(update_item))


# --- Reads: pick up under the lock, work without it --------------------------------------------------


def _locked_get(get_item: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(get_item)
    def get(backend: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Item | None:
        try:
            table = backend.get_table(table_name)
        except ResourceNotFoundException:
            return get_item(backend, table_name, *args, **kwargs)
        with LOCKS.of(table_key(table)):
            return get_item(backend, table_name, *args, **kwargs)

    return get


def snapshot(table: Table) -> Table:
    """A view of the table whose item map is a copy taken under the table's lock (the items are shared)."""
    # object.__new__, not BaseModel.__new__: moto would keep every view (and so its item map) forever.
    view = object.__new__(Table)  # type: ignore[type-abstract]
    view.__dict__.update(table.__dict__)
    with LOCKS.of(table_key(table)):
        if table.range_key_attr is None:
            view.items = defaultdict(dict, table.items)
        else:
            view.items = defaultdict(dict, {hash_key: dict(items) for hash_key, items in table.items.items()})
    return view


_reading_snapshot = threading.local()  # .active: this thread is in a Scan or Query on a snapshot


def _on_snapshot(read: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(read)
    def read_snapshot(table: Table, *args: Any, **kwargs: Any) -> Any:
        view = snapshot(table)
        was_active = getattr(_reading_snapshot, "active", False)
        _reading_snapshot.active = True
        try:
            return read(view, *args, **kwargs)
        finally:
            _reading_snapshot.active = was_active

    return read_snapshot


def _shared_while_reading(deepcopy_item: Callable[[Item, dict[int, Any]], Item]) -> Callable[..., Item]:
    @functools.wraps(deepcopy_item)
    def __deepcopy__(item: Item, memo: dict[int, Any]) -> Item:  # noqa: N807 - the copy protocol's name
        if getattr(_reading_snapshot, "active", False):
            return item  # a published item never changes (copy on write): what a copy would be
        return deepcopy_item(item, memo)

    return __deepcopy__


def _size_remembered_while_reading(size: Callable[[Item], int]) -> Callable[[Item], int]:
    @functools.wraps(size)
    def remembered_size(item: Item) -> int:
        if not getattr(_reading_snapshot, "active", False):
            return size(item)  # a write may be sizing its own copy, which it is still changing
        known: int | None = item.__dict__.get("_published_size")
        if known is None:
            # Safe to keep: the item is published, and Item.__deepcopy__ (a write's copy) does not copy it.
            known = item.__dict__["_published_size"] = size(item)
        return known

    return remembered_size


def _locked_records(get_records: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(get_records)
    def records(backend: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
        iterator = backend.shard_iterators.get(iterator_arn)
        if iterator is None:
            return get_records(backend, iterator_arn, limit)  # moto's own error
        with LOCKS.of(table_key(iterator.stream_shard.table)):
            return get_records(backend, iterator_arn, limit)

    return records


PATCHES = (
    Patch(
        DynamoHandler,
        "put_item",
        _locking(_one_table),
        "4c9efb732751",
        why="a conditional put checks and writes as one step, under its table's lock",
    ),
    Patch(
        DynamoHandler,
        "update_item",
        _locking(_one_table),
        "638893af1afd",
        why="a conditional update checks and writes as one step, under its table's lock",
    ),
    Patch(
        DynamoHandler,
        "delete_item",
        _locking(_one_table),
        "677cb014c5c4",
        why="a conditional delete checks and deletes as one step, under its table's lock",
    ),
    Patch(
        DynamoHandler,
        "batch_write_item",
        _locking(_batch_tables),
        "26221a09e2b2",
        why="a batch writes under the locks of every table it names",
    ),
    Patch(
        DynamoHandler,
        "transact_write_items",
        _locking(_transaction_tables),
        "61c163fff213",
        why="a transaction checks and writes all its items as one step",
    ),
    Patch(
        DynamoHandler,
        "transact_get_items",
        _locking(_transaction_tables),
        "6275dc506a3f",
        why="a transaction reads all its items at one moment, never half a write",
    ),
    Patch(
        DynamoHandler,
        "execute_statement",
        _locking(_every_table),
        "c4bc8beea6ff",
        why="a PartiQL statement (moto hands it every table) holds every table's lock",
    ),
    Patch(
        DynamoHandler,
        "execute_transaction",
        _locking(_every_table),
        "df37e1963ff3",
        why="a PartiQL transaction holds every table's lock",
    ),
    Patch(
        DynamoHandler,
        "batch_execute_statement",
        _locking(_every_table),
        "375aba1cc470",
        why="a PartiQL batch holds every table's lock",
    ),
    Patch(
        DynamoDBBackend,
        "update_item",
        _copy_on_write_marked,
        "218984588dd6",
        why="an update makes a new item (readers never see it half done), marked for one stream record",
    ),
    Patch(
        DynamoDBBackend,
        "get_item",
        _locked_get,
        "290b95c46b38",
        why="GetItem picks its item up under the table's lock, never mid-write",
    ),
    Patch(
        Table,
        "scan",
        _on_snapshot,
        "5ef1ab21eef0",
        why="a Scan reads a snapshot of the item map: never blocks writes, never sees half of one",
    ),
    Patch(
        Table,
        "query",
        _on_snapshot,
        "002b4d00be6d",
        why="a Query reads a snapshot of the item map, as a Scan does",
    ),
    Patch(
        Item,
        "size",
        _size_remembered_while_reading,
        "7621d16ad7ce",
        relies_on=Item.__deepcopy__,
        why="a Scan's or Query's items, never changed, are sized once, not at every page",
    ),
    Patch(
        Item,
        "__deepcopy__",
        _shared_while_reading,
        "7621d16ad7ce",
        why="a Scan or Query shares the items it returns (no write changes them) instead of copying each",
    ),
    Patch(
        DynamoDBStreamsBackend,
        "get_records",
        _locked_records,
        "db8c6cb04430",
        why="GetRecords reads the shard under the table's lock, never a record half appended",
    ),
)


def atomic_dynamodb_in_process() -> AbstractContextManager[None]:
    """For `mock_aws()`: atomic conditional writes while the context lasts."""
    return patched(PATCHES)
