"""Data access for CallbacksTable: where a callback and the sender's record of its SMSID meet.

A callback can beat the sender's own write of the SMSID (eSMS answers the send, calls back, and only
then does our write land), and the sms_id index is eventually consistent besides. So both sides meet
on one item per SMSID, whose updates are atomic: the callback parks its parameters there, the sender
links the SMSID to its RequestId there, and whichever comes second sees the other and applies the
callback. A parked callback that no message links within the window stays as an audit record until
its TTL and is never applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from zns_relay.store.messages import Clock, from_item, is_condition_failure, iso_time, to_item, utc_now

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

    def park(self, sms_id: str, params: Mapping[str, str]) -> str | None:
        """Keep a callback's documented parameters under its SMSID.

        Returns the RequestId the sender already linked to this SMSID (apply the callback to it
        now), or None (parked: the sender will apply it when it links).
        """
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
            response = self._client.update_item(
                TableName=self._table,
                Key={"sms_id": {"S": sms_id}},
                UpdateExpression=(
                    "SET reports = list_append(if_not_exists(reports, :empty), :report),"
                    " first_received_at = if_not_exists(first_received_at, :now),"
                    " apply_until = if_not_exists(apply_until, :until),"
                    " expires_at = :expires"
                ),
                ConditionExpression="attribute_not_exists(reports) OR size(reports) < :max",
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None  # full: kept no more, applies nothing
            raise
        linked = from_item(response["Attributes"]).get("request_id")
        return str(linked) if linked else None

    def link(self, sms_id: str, request_id: str) -> list[dict[str, str]]:
        """Record that `request_id` carries `sms_id`; return the callbacks parked for it in time."""
        now = self._clock()
        values = {
            ":request_id": request_id,
            ":now": iso_time(now),
            # A link alone is needed only while callbacks may still come early; a park extends it.
            ":expires": int((now + self._window + timedelta(days=1)).timestamp()),
        }
        response = self._client.update_item(
            TableName=self._table,
            Key={"sms_id": {"S": sms_id}},
            UpdateExpression=(
                "SET request_id = :request_id, linked_at = :now,"
                " expires_at = if_not_exists(expires_at, :expires)"
            ),
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_NEW",
        )
        item = from_item(response["Attributes"])
        if "reports" not in item or int(item["apply_until"]) < now.timestamp():
            return []
        return [dict(report["params"]) for report in item["reports"]]
