"""DynamoDB's typed items to and from plain Python, and reads of many items by key."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_ATTEMPTS = 5
BATCH_GET_KEYS = 100  # BatchGetItem's limit a call


def batch_get(
    client: DynamoDBClient,
    table: str,
    request_ids: Sequence[str],
    attributes: Iterable[str],
    *,
    consistent: bool,
    key_name: str = "request_id",
) -> list[dict[str, Any]]:
    """These items' `attributes` (typed, as DynamoDB answers), in this order; missing ones left out.
    BatchGetItem, 100 keys a call, retrying the keys DynamoDB leaves unprocessed when busy; the items
    are keyed by `key_name` (a string), which `attributes` must name."""
    names = {f"#a{index}": name for index, name in enumerate(attributes)}
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(request_ids))
    for start in range(0, len(unique), BATCH_GET_KEYS):
        wanted: dict[str, Any] = {
            table: {
                "Keys": [{key_name: {"S": key}} for key in unique[start : start + BATCH_GET_KEYS]],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ConsistentRead": consistent,
            }
        }
        for attempt in range(BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            response = client.batch_get_item(RequestItems=wanted)
            for item in response.get("Responses", {}).get(table, []):
                found[item[key_name]["S"]] = item
            wanted = dict(response.get("UnprocessedKeys") or {})
            if not wanted:
                break
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after every retry")
    return [found[key] for key in request_ids if key in found]


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_item(document: Mapping[str, Any]) -> dict[str, Any]:
    """Python values to DynamoDB's typed attribute values."""
    return {key: _attribute_value(value) for key, value in document.items()}


def _attribute_value(value: Any) -> dict[str, Any]:
    """What TypeSerializer makes of the values the items hold, without its generic type probing (a
    fifth of the store's CPU per write); anything else goes to TypeSerializer itself."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int:
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if kind is list:
        return {"L": [_attribute_value(member) for member in value]}
    if kind is dict and all(type(key) is str for key in value):
        return {"M": {key: _attribute_value(member) for key, member in value.items()}}
    return dict(_SERIALIZER.serialize(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attribute values to plain Python (whole numbers as int)."""
    return {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal (the items only ever hold whole numbers), binaries as
    boto3's Binary."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, Binary):
        return value.__bytes__()
    return value


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
