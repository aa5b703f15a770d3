"""DynamoDB capacity per message: the units each write and read of the happy path consumes.

Every DynamoDB call the functions make asks for ReturnConsumedCapacity="INDEXES" (a botocore hook in
the worker, not a change to the store), and the answer is kept. moto answers a flat 1.0 per call and
knows no index units, so the units DynamoDB would charge are also worked out from the item as it was
before and after each write, by DynamoDB's documented rules (item sizes and formats; global secondary
index writes): a write costs the larger of the two images in 1 KB units, a refused conditional write
the item as it stands; an index is written when the item enters it (a put), leaves it (a delete),
changes its index key (a delete and a put) or changes an attribute it projects (a put), each in 1 KB
units of the index entry. Reads: 4 KB units, half a unit when eventually consistent.
"""

from __future__ import annotations

import math
import statistics
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local.runtime.template import Template

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan"})
KB = 1024


def value_size(value: dict[str, Any]) -> int:
    """The size of one typed attribute value, without its name (the documented rules)."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        digits = str(Decimal(content).normalize()).replace("-", "").replace(".", "").lstrip("0")
        digits = digits.split("E")[0] or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + value_size(member) for name, member in content.items())
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: member}) for member in content)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # KEYS_ONLY, INCLUDE or ALL
    attributes: tuple[str, ...] = ()

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The item's entry in this (sparse) index: None when it lacks an index key."""
        if not item or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = {*self.keys, *table_keys, *(self.attributes if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}

    def units(
        self, before: dict[str, Any] | None, after: dict[str, Any] | None, table_keys: tuple[str, ...]
    ) -> int:
        old, new = self.entry(before, table_keys), self.entry(after, table_keys)
        if (old is None and new is None) or old == new:
            return 0
        if old is None:
            return write_units(item_size(new))
        if new is None:
            return write_units(item_size(old))
        if any(old[key] != new[key] for key in self.keys):
            return write_units(item_size(old)) + write_units(item_size(new))  # a delete and a put
        return write_units(item_size(new))


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    @classmethod
    def from_template(cls, logical_id: str, template: Template | None = None) -> TableShape:
        properties = (template or Template()).resources[logical_id]["Properties"]
        indexes = tuple(
            Index(
                index["IndexName"],
                tuple(key["AttributeName"] for key in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in properties.get("GlobalSecondaryIndexes", [])
        )
        return cls(tuple(key["AttributeName"] for key in properties["KeySchema"]), indexes)


@dataclass
class Units:
    """Units one call consumed, by DynamoDB's rules, and what moto's ReturnConsumedCapacity said."""

    operation: str
    table: str
    write: int = 0
    read: float = 0.0
    indexes: dict[str, int] = field(default_factory=dict)
    index_bytes: dict[str, int] = field(default_factory=dict)  # the item's entries after the write
    reported: float = 0.0  # moto's ConsumedCapacity.CapacityUnits
    size_after: int = 0
    status: str = ""  # the item's status after a write
    refused: bool = False


class CapacityMeter:
    """Registered on a boto3 session's events before its clients are made; `read_item(table, key)`
    reads an item without being metered (a client of another session)."""

    def __init__(self, shapes: dict[str, TableShape], read_item: Any) -> None:
        self._shapes = shapes
        self._read_item = read_item
        self._lock = threading.Lock()
        self._images: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.calls: list[Units] = []

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.dynamodb", self._ask_for_capacity)
        events.register("after-call.dynamodb", self._count)

    @staticmethod
    def _ask_for_capacity(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name in WRITE_OPERATIONS | READ_OPERATIONS:
            params["ReturnConsumedCapacity"] = "INDEXES"
            context["bench_params"] = dict(params)

    def _count(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        params = context.get("bench_params")
        if params is None:
            return
        table = params["TableName"]
        units = Units(
            model.name, table, reported=float(parsed.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
        )
        if model.name in WRITE_OPERATIONS:
            self._count_write(units, params, refused=http_response.status_code >= 400)
        elif model.name == "GetItem":
            units.read = read_units(item_size(parsed.get("Item")), bool(params.get("ConsistentRead")))
        else:
            size = sum(item_size(item) for item in parsed.get("Items", []))
            units.read = read_units(size, bool(params.get("ConsistentRead")))
        with self._lock:
            self.calls.append(units)

    def _count_write(self, units: Units, params: dict[str, Any], *, refused: bool) -> None:
        shape = self._shapes.get(units.table)
        key = (
            params["Key"]
            if "Key" in params
            else {name: params["Item"][name] for name in shape.keys}
            if shape
            else {}
        )
        identity = (units.table, repr(sorted(key.items())))
        with self._lock:
            before = self._images.get(identity)
        after = self._read_item(units.table, key)
        with self._lock:
            self._images[identity] = after
        units.refused = refused
        units.size_after = item_size(after)
        units.status = (after or {}).get("status", {}).get("S", "")
        units.write = write_units(max(item_size(before), item_size(after)))
        if shape is not None and not refused:
            units.indexes = {index.name: index.units(before, after, shape.keys) for index in shape.indexes}
            units.index_bytes = {
                index.name: item_size(index.entry(after, shape.keys)) for index in shape.indexes
            }


@dataclass(frozen=True)
class HappyPath:
    """What one message costs in DynamoDB on the happy path (send, SendStatus 7 and 5 callbacks)."""

    messages: int
    table_write_units: float  # per message
    index_write_units: dict[str, float]  # per message, by index
    read_units: float  # per message
    reported_units: float  # what moto's ReturnConsumedCapacity answered, per message
    steps: dict[str, tuple[int, int]]  # status written: (item bytes after it, its table write units)
    index_entry_bytes: dict[str, int]  # the largest entry each index held
    final_index_bytes: dict[str, int]  # the entries the message keeps, once final, for its retention
    callback_cpu_ms: float  # median process CPU of one callback invocation
    callback_wall_ms: float
    callback_log_bytes: float  # per callback
    sender_log_bytes: float  # per message
    peak_mb: float  # the process that ran both functions

    @property
    def write_units(self) -> float:
        return self.table_write_units + sum(self.index_write_units.values())

    @property
    def final_item_bytes(self) -> int:
        return max(size for size, _ in self.steps.values())


def measure(backends: Any, send_statuses: tuple[int, ...] = (7, 5), batches: int = 2) -> HappyPath:
    """The happy path with eSMS's reports `send_statuses` (7: sent, 5: delivered) for each message."""
    run = backends.run_worker(
        "happy_path",
        {"sender": ("SenderFunction", {}), "callback": ("CallbackFunction", {})},
        batches=batches,
        send_statuses=list(send_statuses),
    )
    messages = run["messages"]
    calls = [Units(**call) for call in run["calls"]]
    writes = [call for call in calls if call.operation in WRITE_OPERATIONS]
    indexes: dict[str, float] = {}
    for call in writes:
        for name, units in call.indexes.items():
            indexes[name] = indexes.get(name, 0.0) + units / messages
    steps: dict[str, list[tuple[int, int]]] = {}
    for call in writes:
        steps.setdefault(call.status, []).append((call.size_after, call.write))
    callbacks = run["callbacks"]
    return HappyPath(
        messages=messages,
        table_write_units=sum(call.write for call in writes) / messages,
        index_write_units=indexes,
        read_units=sum(call.read for call in calls) / messages,
        reported_units=sum(call.reported for call in calls) / messages,
        steps={status: max(sizes) for status, sizes in steps.items()},
        index_entry_bytes={name: max(call.index_bytes.get(name, 0) for call in writes) for name in indexes},
        final_index_bytes={
            name: max(call.index_bytes.get(name, 0) for call in writes if call.status == list(steps)[-1])
            for name in indexes
        },
        callback_cpu_ms=statistics.median(times["cpu"] for times in callbacks) * 1000,
        callback_wall_ms=statistics.median(times["wall"] for times in callbacks) * 1000,
        callback_log_bytes=run["log_bytes"]["callback"] / len(callbacks),
        sender_log_bytes=run["log_bytes"]["sender"] / messages,
        peak_mb=run["max_rss_mb"],
    )
