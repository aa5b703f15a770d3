"""Data access for the OAs' and templates' pauses (zns_relay.models.pause) in ThrottleTable: one item
each, `limiter` = `pause#<oa_id>[#<temp_id>]`, removed by the table's TTL (`expires_at`) a day after
the pause ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zns_relay.models.pause import Pause
from zns_relay.store.items import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY = "limiter"
ATTRIBUTES = (KEY, "oa_id", "temp_id", "code", "until", "request_id")
KEPT_AFTER_SECONDS = 86400


class Pauses:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def record(self, pause: Pause) -> None:
        """Keep the pause, unless one that ends later is kept already (a report of yesterday's
        refusal, applied late, never shortens today's)."""
        item = {
            KEY: pause.key,
            "oa_id": pause.oa_id,
            "temp_id": pause.temp_id,
            "code": pause.code,
            "until": pause.until,
            "request_id": pause.request_id,
            "expires_at": pause.until + KEPT_AFTER_SECONDS,
        }
        present = {name: value for name, value in item.items() if value is not None}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(present),
                ConditionExpression="attribute_not_exists(#until) OR #until <= :until",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":until": {"N": str(pause.until)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return


def pause_of(item: dict[str, Any]) -> Pause:
    values = from_item(item)
    return Pause(
        oa_id=str(values["oa_id"]),
        temp_id=str(values["temp_id"]) if values.get("temp_id") is not None else None,
        code=int(values["code"]),
        until=int(values["until"]),
        request_id=str(values["request_id"]),
    )
