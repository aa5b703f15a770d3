"""Read access for the status API: one message by key, and pages of messages through the list indexes.

The indexes are KEYS_ONLY (template.yaml says why); a page is the keys of up to `limit` messages, newest
first, read back by BatchGetItem. The status index spreads each status over shards, each sorted by time:
a page merges the shards' newest, and its cursor remembers where it stopped in each shard, so that the
next page goes on exactly from there. Cursors are opaque to callers and bound to their query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zns_relay.models.errors import InvalidQuery
from zns_relay.store.messages import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PHONE_INDEX = "phone-index"
CAMPAIGN_INDEX = "campaign-index"
STATUS_INDEX = "status-index"
# What the API may show of an item: never the claim token, the lease, the index keys or other internals.
VIEW_ATTRIBUTES = (
    "request_id",
    "status",
    "status_at",
    "phone",
    "campaign_id",
    "temp_id",
    "oa_id",
    "sms_id",
    "sandbox",
    "attempts",
    "esms_code",
    "error",
    "created_at",
    "updated_at",
    "channel",
    "fallback_for",
    "fallback_request_id",
)
BATCH_GET_ATTEMPTS = 5
_DONE = 0  # a shard's place in a cursor once it has nothing more


@dataclass(frozen=True)
class IndexQuery:
    """Items of one or more partitions of an index, newest first, with a range key in [since, until]."""

    index: str
    partition_key: str
    sort_key: str
    partitions: tuple[str, ...]
    since: str
    until: str

    def fingerprint(self) -> str:
        text = json.dumps([self.index, self.partitions, self.since, self.until])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class KeyPage:
    request_ids: list[str]
    cursor: str | None  # None: nothing more


@dataclass(frozen=True)
class _Found:
    sort_value: str
    request_id: str
    partition: str


class MessageIndex:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def item(self, request_id: str) -> dict[str, Any] | None:
        """A message's viewable attributes and its history."""
        names = {f"#a{index}": name for index, name in enumerate((*VIEW_ATTRIBUTES, "history"))}
        response = self._client.get_item(
            TableName=self._table,
            Key={"request_id": {"S": request_id}},
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        return from_item(response["Item"]) if "Item" in response else None

    def items(self, request_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The viewable attributes (no history) of these messages, in this order; missing ones left out."""
        if not request_ids:
            return []
        names = {f"#a{index}": name for index, name in enumerate(VIEW_ATTRIBUTES)}
        wanted: dict[str, Any] = {
            self._table: {
                "Keys": [{"request_id": {"S": request_id}} for request_id in dict.fromkeys(request_ids)],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        }
        found: dict[str, dict[str, Any]] = {}
        for attempt in range(BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)  # DynamoDB left keys unprocessed: it is busy
            response = self._client.batch_get_item(RequestItems=wanted)
            for item in response.get("Responses", {}).get(self._table, []):
                plain = from_item(item)
                found[plain["request_id"]] = plain
            wanted = dict(response.get("UnprocessedKeys") or {})
            if not wanted:
                break
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after every retry")
        return [found[request_id] for request_id in request_ids if request_id in found]

    def page(self, query: IndexQuery, limit: int, cursor: str | None) -> KeyPage:
        """The next `limit` request ids of the query, newest first, from where `cursor` left off."""
        places = _decode(cursor, query) if cursor else {}
        fetched: dict[str, tuple[list[_Found], bool]] = {}
        for partition in query.partitions:
            place = places.get(partition)
            if place != _DONE:
                fetched[partition] = self._query(query, partition, place, limit)
        merged = heapq.merge(
            *(found for found, _ in fetched.values()),
            key=lambda found: (found.sort_value, found.request_id),
            reverse=True,
        )
        taken = [found for found, _ in zip(merged, range(limit), strict=False)]
        for partition, (found, more) in fetched.items():
            consumed = [item for item in taken if item.partition == partition]
            if consumed:
                last = consumed[-1]
                places[partition] = [last.sort_value, last.request_id]
            if len(consumed) == len(found) and not more:
                places[partition] = _DONE
        finished = all(places.get(partition) == _DONE for partition in query.partitions)
        return KeyPage([found.request_id for found in taken], None if finished else _encode(places, query))

    def _query(
        self, query: IndexQuery, partition: str, place: list[str] | None, limit: int
    ) -> tuple[list[_Found], bool]:
        """Up to `limit` of a partition's newest after `place`; whether it holds more."""
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": query.index,
            "KeyConditionExpression": "#p = :p AND #s BETWEEN :since AND :until",
            "ExpressionAttributeNames": {"#p": query.partition_key, "#s": query.sort_key},
            "ExpressionAttributeValues": {
                ":p": {"S": partition},
                ":since": {"S": query.since},
                ":until": {"S": query.until},
            },
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if place is not None:
            arguments["ExclusiveStartKey"] = {
                "request_id": {"S": place[1]},
                query.partition_key: {"S": partition},
                query.sort_key: {"S": place[0]},
            }
        response = self._client.query(**arguments)
        found = [
            _Found(item[query.sort_key]["S"], item["request_id"]["S"], partition)
            for item in response.get("Items", [])
        ]
        return found, "LastEvaluatedKey" in response


def _encode(places: dict[str, Any], query: IndexQuery) -> str:
    text = json.dumps({"q": query.fingerprint(), "p": places}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, query: IndexQuery) -> dict[str, Any]:
    """The shards' places a cursor holds; InvalidQuery unless this query made it."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        places = document["p"]
        valid = document["q"] == query.fingerprint() and all(
            partition in query.partitions and _is_place(place) for partition, place in places.items()
        )
    except (ValueError, binascii.Error, TypeError, KeyError, AttributeError):
        valid = False
    if not valid:
        raise InvalidQuery("cursor: not one this query returned (pass nextCursor back with the same filters)")
    return dict(places)


def _is_place(place: Any) -> bool:
    return place == _DONE or (
        isinstance(place, list) and len(place) == 2 and all(isinstance(part, str) for part in place)
    )
