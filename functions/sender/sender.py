"""SenderFunction: SQS batch -> one eSMS send per message, exactly once per RequestId: ZNS messages from
SendQueue, and the SMS fallbacks of failed ones from FallbackQueue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.composition.sender import build_queue_visibility, build_sender
from zns_relay.config.observability import logger, metrics, traced_handler
from zns_relay.config.settings import SenderSettings
from zns_relay.models.errors import RetryLater
from zns_relay.sender.batch import ConcurrentBatchProcessor
from zns_relay.sender.delivery import BACK_TO_QUEUE, SqsDelivery

settings = SenderSettings.from_environment()
sender = build_sender(settings)
visibility = build_queue_visibility(settings)
processor = ConcurrentBatchProcessor(max_workers=settings.send_concurrency)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    """Send one record; raise RetryLater to hand it back to SQS (a batch item failure)."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(message_id=record.message_id)
    attributes = record.attributes
    delivery = SqsDelivery(
        message_id=record.message_id,
        body=record.body,
        receive_count=int(attributes.approximate_receive_count),
        sent_at=datetime.fromtimestamp(int(attributes.sent_timestamp) / 1000, UTC),
    )

    def seconds_left() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000

    if record.event_source_arn == settings.fallback_queue_arn:
        result = sender.process_fallback(delivery, seconds_left)
    else:
        result = sender.process(delivery, seconds_left)
    if result.outcome in BACK_TO_QUEUE:
        visibility.postpone(record.event_source_arn, record.receipt_handle, result.retry_after_seconds)
        raise RetryLater(f"{result.detail} (next try in {result.retry_after_seconds}s)")
    return result.outcome.value


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
