"""FallbackFunction: MessagesTable's change stream -> an SMS fallback queued for each ZNS message that
ended in an outcome its Fallback asks for; records not handled are handed back to the stream (batch
item failures), which retries from the first of them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.composition.fallback import build_fallbacks
from zns_relay.config.observability import logger, metrics, traced_handler
from zns_relay.config.settings import FallbackSettings
from zns_relay.models.stream import item_changes

settings = FallbackSettings.from_environment()
fallbacks = build_fallbacks(settings)


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    failed = fallbacks.handle(item_changes(event))
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}
