"""Data access for the person's refusals (zns_relay.models.suppression) in ThrottleTable: one item each,
`limiter` = `suppress#<oa_id>#<phone>[#<temp_id>]`, removed by the table's TTL (`expires_at`) after
SuppressionDays, or by an operator (`zns-relay suppressions clear`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from zns_relay.models.suppression import KEY_PREFIX, Suppression, suppression_key
from zns_relay.store.items import from_item, to_item
from zns_relay.store.messages import Clock, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY = "limiter"
ATTRIBUTES = (KEY, "oa_id", "phone", "temp_id", "code", "since", "request_id")


class Suppressions:
    def __init__(
        self, table_name: str, client: DynamoDBClient, ttl_days: int = 180, clock: Clock = utc_now
    ) -> None:
        self._table = table_name
        self._client = client
        self._ttl = timedelta(days=ttl_days)
        self._clock = clock

    def record(self, suppression: Suppression) -> None:
        """Keep (or renew) the refusal for SuppressionDays from now."""
        expires_at = int((self._clock() + self._ttl).timestamp())
        item = {
            KEY: suppression.key,
            "oa_id": suppression.oa_id,
            "phone": suppression.phone,
            "temp_id": suppression.temp_id,
            "code": suppression.code,
            "since": suppression.since,
            "request_id": suppression.request_id,
            "expires_at": expires_at,
        }
        present = {name: value for name, value in item.items() if value is not None}
        self._client.put_item(TableName=self._table, Item=to_item(present))

    def listed(self, oa_id: str | None = None, phone: str | None = None) -> Iterator[Suppression]:
        """Every record, or those of one OA and/or phone: a Scan (ThrottleTable holds a handful of other
        items; this is an operator's command, never the send path)."""
        prefix = suppression_key(oa_id, "") if oa_id is not None else f"{KEY_PREFIX}#"
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(#key, :prefix)",
            "ExpressionAttributeNames": {"#key": KEY},
            "ExpressionAttributeValues": {":prefix": {"S": prefix}},
        }
        while True:
            response = self._client.scan(**arguments)
            for item in response.get("Items", []):
                found = suppression_of(item)
                if phone is None or found.phone == phone:
                    yield found
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def clear(self, oa_id: str, phone: str, temp_id: str | None = None) -> bool:
        """Forget one record; whether there was one."""
        response = self._client.delete_item(
            TableName=self._table,
            Key={KEY: {"S": suppression_key(oa_id, phone, temp_id)}},
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))


def suppression_of(item: dict[str, Any]) -> Suppression:
    values = from_item(item)
    return Suppression(
        oa_id=str(values["oa_id"]),
        phone=str(values["phone"]),
        temp_id=str(values["temp_id"]) if values.get("temp_id") is not None else None,
        code=int(values["code"]),
        since=str(values["since"]),
        request_id=str(values["request_id"]),
    )
