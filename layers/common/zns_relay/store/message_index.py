"""Read access for the status API: one message by key, and pages of messages through the list indexes.

The indexes are KEYS_ONLY (template.yaml says why); a page is the keys of up to `limit` messages, newest
first, read back by BatchGetItem. The status index spreads each status over shards, each sorted by time:
a page merges the shards' newest, and its cursor remembers where it stopped in each shard, so that the
next page goes on exactly from there. A list may read more than one index, one after the other (a
status no message ends in is listed from the waiting-index, by its next check). Cursors are opaque to
callers and bound to their query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zns_relay.models.errors import InvalidQuery
from zns_relay.models.status_api import EARLIEST, LATEST
from zns_relay.store.items import batch_get, from_item

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
    "next_attempt_at",
)
_DONE = 0  # a shard's place in a cursor once it has nothing more


@dataclass(frozen=True)
class IndexQuery:
    """Items of one or more partitions of an index, newest first, with a range key in [since, until]
    (None: any; a numeric range key is never bounded)."""

    index: str
    partition_key: str
    sort_key: str
    partitions: tuple[str, ...]
    since: str | None = None
    until: str | None = None
    numeric: bool = False  # the range key is a number (epoch seconds), not an ISO time

    def fingerprint(self) -> str:
        return json.dumps([self.index, self.partitions, self.since, self.until])

    def order(self, sort_value: str) -> str | int:
        return int(sort_value) if self.numeric else sort_value


def fingerprint(queries: Sequence[IndexQuery]) -> str:
    text = json.dumps([query.fingerprint() for query in queries])
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
        found = batch_get(self._client, self._table, request_ids, VIEW_ATTRIBUTES, consistent=False)
        return [from_item(item) for item in found]

    def page(self, queries: Sequence[IndexQuery], limit: int, cursor: str | None) -> KeyPage:
        """The next `limit` request ids of the queries (one after the other), newest first, from where
        `cursor` left off."""
        stage, places = _decode(cursor, queries) if cursor else (0, {})
        request_ids: list[str] = []
        while True:
            finished = self._stage_page(queries[stage], limit - len(request_ids), places, request_ids)
            if not finished:
                return KeyPage(request_ids, _encode(stage, places, queries))
            if stage + 1 == len(queries):
                return KeyPage(request_ids, None)
            stage, places = stage + 1, {}
            if len(request_ids) == limit:
                return KeyPage(request_ids, _encode(stage, places, queries))

    def _stage_page(
        self, query: IndexQuery, limit: int, places: dict[str, Any], request_ids: list[str]
    ) -> bool:
        """Add up to `limit` request ids of one query to `request_ids`, moving `places` on; whether the
        query has nothing more."""
        fetched: dict[str, tuple[list[_Found], bool]] = {}
        for partition in query.partitions:
            place = places.get(partition)
            if place != _DONE:
                fetched[partition] = self._query(query, partition, place, limit)
        merged = heapq.merge(
            *(found for found, _ in fetched.values()),
            key=lambda found: (query.order(found.sort_value), found.request_id),
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
        request_ids += [found.request_id for found in taken]
        return all(places.get(partition) == _DONE for partition in query.partitions)

    def _query(
        self, query: IndexQuery, partition: str, place: list[str] | None, limit: int
    ) -> tuple[list[_Found], bool]:
        """Up to `limit` of a partition's newest after `place`; whether it holds more."""
        kind = "N" if query.numeric else "S"
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": query.index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": query.partition_key},
            "ExpressionAttributeValues": {":p": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if not query.numeric and (query.since, query.until) != (None, None):
            arguments["KeyConditionExpression"] += " AND #s BETWEEN :since AND :until"
            arguments["ExpressionAttributeNames"]["#s"] = query.sort_key
            arguments["ExpressionAttributeValues"].update(
                {":since": {"S": query.since or EARLIEST}, ":until": {"S": query.until or LATEST}}
            )
        if place is not None:
            arguments["ExclusiveStartKey"] = {
                "request_id": {"S": place[1]},
                query.partition_key: {"S": partition},
                query.sort_key: {kind: place[0]},
            }
        response = self._client.query(**arguments)
        found = [
            _Found(_text(item[query.sort_key], query.numeric), item["request_id"]["S"], partition)
            for item in response.get("Items", [])
        ]
        return found, "LastEvaluatedKey" in response


def _encode(stage: int, places: dict[str, Any], queries: Sequence[IndexQuery]) -> str:
    text = json.dumps({"q": fingerprint(queries), "s": stage, "p": places}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, queries: Sequence[IndexQuery]) -> tuple[int, dict[str, Any]]:
    """The stage and the shards' places a cursor holds; InvalidQuery unless these queries made it."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        stage, places = document.get("s", 0), document["p"]
        valid = (
            document["q"] == fingerprint(queries)
            and type(stage) is int
            and 0 <= stage < len(queries)
            and all(
                partition in queries[stage].partitions and _is_place(place)
                for partition, place in places.items()
            )
        )
    except (ValueError, binascii.Error, TypeError, KeyError, AttributeError):
        valid = False
    if not valid:
        raise InvalidQuery("cursor: not one this query returned (pass nextCursor back with the same filters)")
    return stage, dict(places)


def _is_place(place: Any) -> bool:
    return place == _DONE or (
        isinstance(place, list) and len(place) == 2 and all(isinstance(part, str) for part in place)
    )


def _text(value: Any, numeric: bool) -> str:
    return str(value["N"] if numeric else value["S"])
