"""Data access for CallbacksTable: callbacks whose SMSID no message carries yet.

A callback can beat the sender's own write of the SMSID (eSMS answers the send, calls back, and
only then does our conditional write land). Such a callback is parked here under its SMSID; the
sender applies it right after recording that SMSID. One that no message claims within the window
stays as an audit record until its TTL and is never applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from zns_relay.store import Clock, is_condition_failure, iso_time, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_REPORTS_PER_SMS_ID = 20  # eSMS sends a handful per message; more is noise to keep, not to apply


class ParkedCallbacks:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        window_seconds: int,
        retention_days: int,
        clock: Clock = utc_now,
    ) -> None:
        self._table = table_name
        self._client = client
        self._window = timedelta(seconds=window_seconds)
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def park(self, sms_id: str, params: Mapping[str, str]) -> bool:
        """Keep a callback's documented parameters under its SMSID; False once the item is full."""
        now = self._clock()
        values = {
            ":report": [{"received_at": iso_time(now), "params": dict(params)}],
            ":empty": [],
            ":now": iso_time(now),
            ":until": int((now + self._window).timestamp()),
            ":expires": int((now + self._retention).timestamp()),
            ":max": MAX_REPORTS_PER_SMS_ID,
        }
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"sms_id": {"S": sms_id}},
                UpdateExpression=(
                    "SET reports = list_append(if_not_exists(reports, :empty), :report),"
                    " first_received_at = if_not_exists(first_received_at, :now),"
                    " apply_until = if_not_exists(apply_until, :until),"
                    " expires_at = if_not_exists(expires_at, :expires)"
                ),
                ConditionExpression="attribute_not_exists(reports) OR size(reports) < :max",
                ExpressionAttributeValues={
                    key: self._serializer.serialize(value) for key, value in values.items()
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def claimable(self, sms_id: str) -> list[dict[str, str]]:
        """The parked callbacks of `sms_id` still inside their window (strongly consistent read)."""
        response = self._client.get_item(
            TableName=self._table, Key={"sms_id": {"S": sms_id}}, ConsistentRead=True
        )
        item = {key: self._deserializer.deserialize(value) for key, value in response.get("Item", {}).items()}
        if not item or int(item["apply_until"]) < self._clock().timestamp():
            return []
        return [dict(report["params"]) for report in item.get("reports", [])]

    def mark_applied(self, sms_id: str, request_id: str) -> None:
        """Note, for the audit trail, which message the parked callbacks were applied to."""
        self._client.update_item(
            TableName=self._table,
            Key={"sms_id": {"S": sms_id}},
            UpdateExpression="SET applied_to = :request_id, applied_at = :now",
            ExpressionAttributeValues={
                ":request_id": {"S": request_id},
                ":now": {"S": iso_time(self._clock())},
            },
        )
