"""Make moto's DynamoDB UpdateItem parse and validate its UpdateExpression without redoing the work.

Found by profiling the server process (py-spy) under bench/local_stack_throughput.py, moto 5.2.5. The
UpdateExpression is parsed twice and validated (twice when the item is new) by ten walks of a deep copy
of its tree, each rebuilding its type map and testing every node against the map's abstract classes, one
of them counting the clauses under every node again (quadratic): most of a conditional write's CPU time.
Fixed: the parsed tree reused (moto validates only copies of it), copied without deepcopy's generic
machinery, each walker's processor found once per node type, the clause counts of a node added up from
its children's. Of the ten walks, three check nothing but the expression, its attribute names and the
table's key (ActionCount, OverlappingPaths, UpdateHashRangeKey): each distinct one is checked once, as it
would be, and remembered (found under the callback bench, bench/callbacks.py, where they were a third of
the validation).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from moto.dynamodb.exceptions import TooManyClauses
from moto.dynamodb.models.dynamo_type import Item
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

from local.aws.patches.patching import Patch

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


PATCHES = (
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
)
