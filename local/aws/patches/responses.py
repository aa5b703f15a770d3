"""Make moto answer fast: its dispatch, its model bookkeeping, and DynamoDB's responses.

Found by profiling the server process (py-spy) under bench/local_stack_throughput.py, moto 5.2.5:

- Dispatch. Every request lists moto's package directory (a stat per service) and tries every service's
  URL patterns to learn which service a host name means, under the dispatcher's lock, then lists the
  response class's methods to find the action. Fixed: both answers remembered.
- Bookkeeping. moto keeps every model object it makes (BaseModel.instances_tracked, for its dashboard):
  every copy of a message or an item piled up. Fixed: those two are not tracked.
- DynamoDB responses. moto converts each attribute value to plain data (re-importing DynamoType at
  every value), then its generic serializer looks each of the ten members of every value up through
  its attribute pickers; each page of a Scan sorts the whole table, casting both keys' values at every
  comparison. Fixed: values converted and written directly, keys cast once per item.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import moto.core.responses
import moto.dynamodb.responses
from moto.core.common_models import BaseModel
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Message

from local.aws.patches.patching import Patch

UNTRACKED_MODELS = (Message, Item)


# --- Model bookkeeping ---------------------------------------------------------------------------------


def _untracked(original: staticmethod) -> staticmethod:  # type: ignore[type-arg]
    track = original.__func__

    def __new__(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:  # noqa: N807 - it is __new__
        if issubclass(cls, UNTRACKED_MODELS):
            return object.__new__(cls)
        return track(cls, *args, **kwargs)  # type: ignore[no-any-return]

    return staticmethod(__new__)


# --- Serving -------------------------------------------------------------------------------------------


def _remembered_method_names(original: Callable[[object], list[str]]) -> Callable[[object], list[str]]:
    known: dict[object, list[str]] = {}

    @functools.wraps(original)
    def method_names_from_class(clazz: object) -> list[str]:
        # moto lists a response class's methods (inspect.getmembers) at every request to find the action.
        if clazz not in known:
            known[clazz] = original(clazz)
        return known[clazz]

    return method_names_from_class


def _remembered_backends(original: Callable[..., Any]) -> Callable[..., Any]:
    found: dict[str | None, Any] = {}

    @functools.wraps(original)
    def get_backend_for_host(dispatcher: DomainDispatcherApplication, host: str | None) -> Any:
        # The answer depends on the host name alone; moto calls this under the dispatcher's lock.
        if host not in found:
            found[host] = original(dispatcher, host)
        return found[host]

    return get_backend_for_host


_ATTRIBUTE_VALUE_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_AS_IS = frozenset({"S", "N", "SS", "NS", "NULL", "BOOL"})


class _NotPlain(Exception):
    """An attribute value not in the {type: value} form of moto's DynamoResult: moto serializes it."""


def _plain_attribute_value(serializer: BaseJSONSerializer, value: Any) -> dict[str, Any]:
    """What moto's serializer makes of an AttributeValue as dynamo_to_dict shaped it: {"S": "x"}, ...

    A scalar or a set of strings is written as it stands (value is the response's own copy), a map or a
    list member by member, binary values in base64; any other shape goes moto's way (_NotPlain).
    """
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((kind, inner),) = value.items()
    if inner is None:
        raise _NotPlain
    if kind in _AS_IS:
        return value
    if kind == "M":
        return {
            kind: {
                name: _plain_attribute_value(serializer, member)
                for name, member in inner.items()
                if member is not None
            }
        }
    if kind == "L":
        return {
            kind: [None if member is None else _plain_attribute_value(serializer, member) for member in inner]
        }
    if kind == "B":
        return {kind: serializer._base64(inner)}
    if kind == "BS":
        return {kind: [serializer._base64(blob) for blob in inner]}
    raise _NotPlain


_PLAIN_DATA = (str, int, float, bool, bytes, type(None))


def _plain_values(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def dynamo_to_dict(obj: Any) -> Any:
        """moto's dynamo_to_dict, with the common cases (exact types) first and without its import."""
        kind = type(obj)
        if kind is dict:
            return {key: dynamo_to_dict(value) for key, value in obj.items()}
        if kind is list:
            return [dynamo_to_dict(value) for value in obj]
        if kind is DynamoType and obj.type not in ("B", "BS"):
            return {obj.type: dynamo_to_dict(obj.value)}
        if kind in _PLAIN_DATA:
            return obj
        return original(obj)  # binary values, datetimes, objects with to_json: moto's own way

    return dynamo_to_dict


def _key_values(item: Item) -> Any:
    """What moto sorts a table's items by, as plain values (DynamoType compares by cast_value)."""
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


def _sorted_by_key_values(_original: Callable[[Table], list[Item]]) -> Callable[[Table], list[Item]]:
    def all_items(table: Table) -> list[Item]:
        items: list[Item] = []
        for stored in table.items.values():
            if table.range_key_attr:
                items.extend(stored.values())
            else:
                items.append(stored)  # type: ignore[arg-type]
        return sorted(items, key=_key_values)

    return all_items


def _direct_attribute_values(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def _serialize_type_structure(
        serializer: BaseJSONSerializer, serialized: dict[str, Any], value: Any, shape: Any, key: str
    ) -> None:
        if (
            key
            and value is not None
            and shape.name == "AttributeValue"
            and serializer.operation_model.service_model.service_name in _ATTRIBUTE_VALUE_SERVICES
        ):
            try:
                serialized[serializer.get_serialized_name(shape, key)] = _plain_attribute_value(
                    serializer, value
                )
                return
            except _NotPlain:
                pass
        original(serializer, serialized, value, shape, key)

    return _serialize_type_structure


PATCHES = (
    Patch(
        BaseModel,
        "__new__",
        _untracked,
        "08cf0ef20e88",
        why="moto keeps every model object for its dashboard: messages and items piled up",
    ),
    Patch(
        moto.core.responses,
        "method_names_from_class",
        _remembered_method_names,
        "9dbac89d082b",
        why="dispatch: a response class's methods listed once, not at every request",
    ),
    Patch(
        DomainDispatcherApplication,
        "get_backend_for_host",
        _remembered_backends,
        "1f41972c1e4e",
        why="dispatch: a host's service found once, not by listing moto's package at every request",
    ),
    Patch(
        moto.dynamodb.responses,
        "dynamo_to_dict",
        _plain_values,
        "80f600124c13",
        why="responses: attribute values converted without re-importing DynamoType at every value",
    ),
    Patch(
        Table,
        "all_items",
        _sorted_by_key_values,
        "c80d2ee3c896",
        why="Scan: the table sorted with each item's keys cast once, not at every comparison",
    ),
    Patch(
        BaseJSONSerializer,
        "_serialize_type_structure",
        _direct_attribute_values,
        "36873909cd0a",
        why="responses: attribute values written directly, not member by member through moto's serializer",
    ),
)
