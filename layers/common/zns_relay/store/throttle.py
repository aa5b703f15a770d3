"""Data access for ThrottleTable: the eSMS send rate every sender shares, one item, conditional writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from zns_relay.store.messages import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SEND_RATE_KEY = "esms-send"


@dataclass(frozen=True)
class RateState:
    rate: float  # sends a second, across all senders
    changed_at: float  # epoch seconds of the last change (0: never changed)


class SharedRate:
    """The shared rate starts at its ceiling; a change applies only if nobody changed it since it was
    read, so that many senders meeting the same throttling lower it once, not once each."""

    def __init__(self, table_name: str, client: DynamoDBClient, ceiling: float) -> None:
        self._table = table_name
        self._client = client
        self._ceiling = ceiling

    def read(self) -> RateState:
        item = self._client.get_item(TableName=self._table, Key={"limiter": {"S": SEND_RATE_KEY}}).get("Item")
        if item is None:
            return RateState(self._ceiling, 0.0)
        rate = min(float(item["rate"]["N"]), self._ceiling)  # a lowered ceiling applies at once
        return RateState(rate, float(item["changed_at"]["N"]))

    def change(self, seen: RateState, rate: float, now: float) -> RateState:
        """Set the rate, unless someone changed it after `seen`; the state as it then stands."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"limiter": {"S": SEND_RATE_KEY}},
                UpdateExpression="SET rate = :rate, changed_at = :now",
                ConditionExpression="attribute_not_exists(changed_at) OR changed_at = :seen",
                ExpressionAttributeValues={
                    ":rate": {"N": f"{rate:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                    ":seen": {"N": f"{seen.changed_at:.3f}"},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return self.read()
            raise
        return RateState(float(f"{rate:.3f}"), float(f"{now:.3f}"))
