"""What a DynamoDB change stream hands its functions: one change of an item per record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent


@dataclass(frozen=True)
class ItemChange:
    """One stream record: the item before and after a write (DynamoDB-typed images; None if absent)."""

    sequence_number: str
    old_image: dict[str, Any] | None
    new_image: dict[str, Any] | None


def item_changes(event: dict[str, Any]) -> list[ItemChange]:
    """The changes of a stream event, in stream order."""
    return [
        ItemChange(
            sequence_number=str(record.dynamodb.sequence_number),
            old_image=record.dynamodb.raw_event.get("OldImage"),
            new_image=record.dynamodb.raw_event.get("NewImage"),
        )
        for record in DynamoDBStreamEvent(event).records
        if record.dynamodb is not None
    ]
