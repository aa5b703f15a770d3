"""PublisherFunction: MessagesTable's change stream -> one "ZNS Message Status Changed" event per status
change, on the status event bus; records not published are handed back to the stream (batch item
failures), which retries from the first of them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.composition.publisher import build_publisher
from zns_relay.config.observability import logger, metrics, traced_handler
from zns_relay.config.settings import PublisherSettings
from zns_relay.models.stream import item_changes

settings = PublisherSettings.from_environment()
publisher = build_publisher(settings)


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    failed = publisher.publish(item_changes(event))
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}
