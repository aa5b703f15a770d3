"""Read access for a resend: what a DEFERRED message's item holds to send it again, and no more (the
sender's role may read these attributes only: template.yaml, SenderRole)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zns_relay.models.state import MessageStatus
from zns_relay.store.items import from_item
from zns_relay.store.records import DeferredMessage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RESEND_ATTRIBUTES = (
    "request_id",
    "status",
    "phone",
    "oa_id",
    "temp_id",
    "campaign_id",
    "valid_until",
    "sealed_temp_data",
)


class DeferredMessages:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def get(self, request_id: str) -> DeferredMessage | None:
        """The message as it stands now (a consistent read), or None when it has no item."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"request_id": {"S": request_id}},
            ConsistentRead=True,
            ProjectionExpression=", ".join(f"#{name}" for name in RESEND_ATTRIBUTES),
            ExpressionAttributeNames={f"#{name}": name for name in RESEND_ATTRIBUTES},
        )
        if "Item" not in response:
            return None
        item = from_item(response["Item"])
        return DeferredMessage(**{**item, "status": MessageStatus(item["status"])})
