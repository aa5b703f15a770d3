"""What can hold a message back before it is sent, read together in one BatchGetItem of ThrottleTable:
the person's refusals (zns_relay.store.suppressions) and its OA's and template's pauses
(zns_relay.store.pauses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zns_relay.models import pause, suppression
from zns_relay.models.pause import Pause
from zns_relay.models.suppression import Suppression
from zns_relay.store import pauses, suppressions
from zns_relay.store.items import batch_get

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


ATTRIBUTES = tuple(dict.fromkeys((*suppressions.ATTRIBUTES, *pauses.ATTRIBUTES)))  # both kinds' read


@dataclass(frozen=True)
class Holds:
    suppressions: list[Suppression]
    pauses: list[Pause]


class HoldRecords:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def for_message(self, oa_id: str, phone: str, temp_id: str) -> Holds:
        """The records that could hold back a message to `phone` from `oa_id` with `temp_id`."""
        keys = (*suppression.keys_for(oa_id, phone, temp_id), *pause.keys_for(oa_id, temp_id))
        items = batch_get(
            self._client, self._table, keys, ATTRIBUTES, consistent=False, key_name=suppressions.KEY
        )
        by_kind: dict[str, list[dict[str, Any]]] = {suppression.KEY_PREFIX: [], pause.KEY_PREFIX: []}
        for item in items:
            by_kind[item[suppressions.KEY]["S"].split("#", 1)[0]].append(item)
        return Holds(
            [suppressions.suppression_of(item) for item in by_kind[suppression.KEY_PREFIX]],
            [pauses.pause_of(item) for item in by_kind[pause.KEY_PREFIX]],
        )
