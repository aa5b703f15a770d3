"""What a DynamoDB change stream hands its functions: one change of an item per record."""

from __future__ import annotations

import base64
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
            old_image=_binaries_decoded(record.dynamodb.raw_event.get("OldImage")),
            new_image=_binaries_decoded(record.dynamodb.raw_event.get("NewImage")),
        )
        for record in DynamoDBStreamEvent(event).records
        if record.dynamodb is not None
    ]


def _binaries_decoded(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """The image with its binary attributes as bytes, as GetItem's answer has them: a stream event
    carries them in base64 (JSON has no bytes), which boto3's TypeDeserializer does not take."""
    if image is None:
        return None
    return {
        name: {"B": base64.b64decode(value["B"])} if isinstance(value.get("B"), str) else value
        for name, value in image.items()
    }
