"""Speed-ups for moto in the local stack's moto server process: SQS, DynamoDB writes and responses, serving.

Found by profiling the server process (py-spy) under bench/local_stack_throughput.py, moto 5.2.5:

- SQS. Each SendMessage, and each message a ReceiveMessage returns, builds the queue's attribute map
  (for ContentBasedDeduplication and MessageRetentionPeriod), which counts visible, in-flight and
  delayed messages by walking the queue and reading the clock (a ~4 µs datetime round trip) twice per
  message: ~100 ms per message at a depth of 5,000. ReceiveMessage also walks the whole queue before
  picking ten and deep-copies what it returns; DeleteMessage and ChangeMessageVisibility walk it to find
  a receipt handle. Fixed: one clock read per request, the retention setting read directly, a receive
  that stops at its tenth message and copies shallowly (the response only reads the copy), a
  receipt-handle index. Receive, delete and visibility changes also run under the queue's lock:
  unlocked, as in moto, two pollers can receive one message, and a delete (which rebuilds the list)
  can drop a message sent meanwhile.
- Bookkeeping. moto keeps every model object it makes (BaseModel.instances_tracked, for its dashboard):
  every copy of a message or an item piled up. Fixed: those two are not tracked.
- Serving. Every request lists moto's package directory (a stat per service) and tries every service's
  URL patterns to learn which service a host name means, under the dispatcher's lock, then lists the
  response class's methods to find the action. Fixed: both answers remembered.
- DynamoDB responses. moto converts each attribute value to plain data (re-importing DynamoType at
  every value), then its generic serializer looks each of the ten members of every value up through
  its attribute pickers; each page of a Scan sorts the whole table, casting both keys' values at every
  comparison. Fixed: values converted and written directly, keys cast once per item.
- DynamoDB UpdateItem. The UpdateExpression is parsed twice and validated (twice when the item is new)
  by ten walks of a deep copy of its tree, each rebuilding its type map and testing every node against
  the map's abstract classes, one of them counting the clauses under every node again (quadratic): most
  of a conditional write's CPU time. Fixed: the parsed tree reused (moto validates only copies of it),
  copied without deepcopy's generic machinery, each walker's processor found once per node type, the
  clause counts of a node added up from its children's. Of the ten walks, three check nothing but the
  expression, its attribute names and the table's key (ActionCount, OverlappingPaths, UpdateHashRangeKey):
  each distinct one is checked once, as it would be, and remembered (found under the callback bench,
  bench/callbacks.py, where they were a third of the validation).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import moto.core.responses
import moto.dynamodb.responses
from moto.core.common_models import BaseModel
from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb.exceptions import TooManyClauses
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
    DepthFirstTraverser,
    Expression,
    Node,
    UpdateExpressionAddClause,
    UpdateExpressionFunction,
    UpdateExpressionRemoveClause,
    UpdateExpressionSetClause,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.validators import (
    ActionCountValidator,
    OverlappingPathsValidator,
    UpdateHashRangeKeyValidator,
    Validator,
)
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes

from local.aws.patches.patching import Patch

MAX_VISIBILITY_TIMEOUT_MS = 43_200_000  # SQS: a message is invisible for at most 12 hours in all
RECEIVE_WAIT_SLICE_SECONDS = 1.0  # a long poll re-checks this often for messages whose visibility ran out
UNTRACKED_MODELS = (Message, Item)


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


# --- Update expressions ------------------------------------------------------------------------------


PARSED_EXPRESSIONS_KEPT = 1024


def _reused_parse(original: classmethod) -> classmethod:  # type: ignore[type-arg]
    parse = original.__func__

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS_KEPT)
    def parsed(parser: Any, expression: str) -> Any:
        return parse(parser, expression)

    def make(parser: Any, expression_str: str) -> Any:
        # Shared between requests: moto reads the tree (find_clauses) and validates a deep copy of it.
        return parsed(parser, expression_str)

    return classmethod(make)


def _processor_for(traverser: DepthFirstTraverser, node_type: type) -> Callable[[Any], Any] | None:
    """The traverser's processing function for nodes of this type, looked up once per type.

    moto rebuilds the traverser's type map and tests isinstance against its (abstract) classes at every
    node; the answer depends on the node's type alone.
    """
    known: dict[type, Callable[[Any], Any] | None] = traverser.__dict__.setdefault("_processor_by_type", {})
    if node_type not in known:
        known[node_type] = next(
            (process for kind, process in traverser._processing_map().items() if issubclass(node_type, kind)),
            None,
        )
    return known[node_type]


_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    """isinstance(x, Node) by x's type, remembered (Node is an abstract class: its checks are slow)."""
    if kind not in _NODE_TYPES:
        _NODE_TYPES[kind] = issubclass(kind, Node)
    return _NODE_TYPES[kind]


def _walk_with_known_processors(_original: Callable[..., Any]) -> Callable[..., Any]:
    def traverse_node_recursively(traverser: DepthFirstTraverser, node: Any, child_id: int = -1) -> Any:
        """moto's depth-first walk, bottom-up, replacing each processed node in its parent's children."""
        if not _is_node(type(node)):
            return node
        parent_node = node.parent
        if node.children is not None:
            for index, child_node in enumerate(node.children):
                traverser.pre_processing_of_child(node, index)
                traverser.traverse_node_recursively(child_node, index)
        process = _processor_for(traverser, type(node))
        if process is not None:
            node = process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    return traverse_node_recursively


_IMMUTABLE = (str, int, float, bool, type(None))


def _tree_copy(_absent: Any) -> Callable[[Any, dict[int, Any]], Any]:
    def __deepcopy__(node: Node, memo: dict[int, Any]) -> Any:  # noqa: N807 - the copy protocol's name
        """What copy.deepcopy makes of a node (its __dict__, deeply), without copying immutable leaves."""
        copied = object.__new__(type(node))
        memo[id(node)] = copied
        for name, value in vars(node).items():
            if isinstance(value, _IMMUTABLE):
                copied.__dict__[name] = value
            elif name == "children" and type(value) is list:
                copied.__dict__[name] = [
                    child if isinstance(child, _IMMUTABLE) else copy.deepcopy(child, memo) for child in value
                ]
            else:
                copied.__dict__[name] = copy.deepcopy(value, memo)
        return copied

    return __deepcopy__


_COUNTED_CLAUSES = (UpdateExpressionAddClause, UpdateExpressionRemoveClause, UpdateExpressionSetClause)


def _clause_counts(validator: ActionCountValidator, node: Node) -> tuple[int, ...]:
    """How many ADD, REMOVE and SET clauses node.find_clauses finds under `node`, each node counted once."""
    counted: dict[int, tuple[Node, tuple[int, ...]]] = validator.__dict__.setdefault("_clause_counts", {})
    if id(node) in counted:
        return counted[id(node)][1]
    counts = [0] * len(_COUNTED_CLAUSES)
    for child in node.children or []:
        nested = (
            _clause_counts(validator, child)
            if isinstance(child, Expression | UpdateExpressionFunction)
            else (0,) * len(_COUNTED_CLAUSES)
        )
        for index, clause in enumerate(_COUNTED_CLAUSES):
            counts[index] += 1 if type(child) is clause else nested[index]
    counted[id(node)] = (node, tuple(counts))  # the node kept alive, so its id stays its own
    return tuple(counts)


def _counts_added_up(_original: Callable[..., Any]) -> Callable[..., Any]:
    def verify_action_counts(validator: ActionCountValidator, node: Node) -> Node:
        for count, name in zip(_clause_counts(validator, node), ("ADD", "REMOVE", "SET"), strict=True):
            if count > 1:
                raise TooManyClauses(name)
        return node

    return verify_action_counts


# Checks that read the update expression, its attribute names and the table's key, nothing else.
_EXPRESSION_ONLY_CHECKS = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)


def _expression_checks_once(original: Callable[..., None]) -> Callable[..., None]:
    passed: dict[tuple[Any, ...], Node] = {}

    def __init__(  # noqa: N807, PLR0917 - moto's __init__, its signature
        validator: Validator,
        expression: Node,
        expression_attribute_names: dict[str, str],
        expression_attribute_values: dict[str, dict[str, Any]],
        item: Item,
        table: Table,
    ) -> None:
        """moto's, with the expression-only checks run here, first as in validate(), and only for an
        expression, names and key not seen to pass them yet (a parsed tree is shared: _reused_parse)."""
        original(validator, expression, expression_attribute_names, expression_attribute_values, item, table)
        checks = [check for check in validator.processors if isinstance(check, _EXPRESSION_ONLY_CHECKS)]
        validator.processors = [check for check in validator.processors if check not in checks]
        names = tuple(sorted((expression_attribute_names or {}).items()))
        key = (id(expression), names, tuple(table.table_key_attrs))
        if key in passed:
            return
        for check in checks:
            check.traverse(validator.node_to_validate)  # raises what moto raises; changes nothing
        if len(passed) >= PARSED_EXPRESSIONS_KEPT:
            passed.clear()
        passed[key] = expression  # kept alive, so that its id stays its own

    return __init__


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
        UpdateExpressionParser,
        "make",
        _reused_parse,
        "2c00ed96d6e1",
        why="UpdateItem: an UpdateExpression parsed once per request, not twice",
    ),
    Patch(
        DepthFirstTraverser,
        "traverse_node_recursively",
        _walk_with_known_processors,
        "d7f01d9b45cf",
        why="UpdateItem: each validator walk finds its processor once per node type",
    ),
    Patch(
        Node,
        "__deepcopy__",
        _tree_copy,
        "73e3e0773294",
        relies_on=Node.__init__,
        why="UpdateItem: the expression tree copied directly, not by deepcopy's generic machinery",
    ),
    Patch(
        ActionCountValidator,
        "verify_action_counts",
        _counts_added_up,
        "8cd8c9a3ae3a",
        why="UpdateItem: clause counts added up from children, not recounted under every node (quadratic)",
    ),
    Patch(
        Validator,
        "__init__",
        _expression_checks_once,
        "9489b532dd0f",
        why="UpdateItem: the checks of the expression alone done once per distinct expression",
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
