"""SenderFunction: SQS batch -> one eSMS send per message, exactly once per RequestId."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.batch import ConcurrentBatchProcessor
from zns_relay.composition import build_queue_backoff, build_sender
from zns_relay.models.errors import RetryLater
from zns_relay.observability import logger, metrics, tracer
from zns_relay.sending import Outcome, SqsDelivery
from zns_relay.settings import Settings

# A claim's lease outlives the invocation by this much: only then may another delivery take it over.
LEASE_MARGIN_SECONDS = 5

settings = Settings.from_environment()
sender = build_sender(settings)
backoff = build_queue_backoff(settings)
processor = ConcurrentBatchProcessor(max_workers=settings.send_concurrency)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    """Send one record; raise RetryLater to hand it back to SQS (a batch item failure)."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(message_id=record.message_id)
    receive_count = int(record.attributes.approximate_receive_count)
    lease_seconds = lambda_context.get_remaining_time_in_millis() // 1000 + LEASE_MARGIN_SECONDS
    delivery = SqsDelivery(message_id=record.message_id, body=record.body, receive_count=receive_count)
    result = sender.process(delivery, lease_seconds)
    if result.outcome is Outcome.EXHAUSTED:
        backoff.release(record.event_source_arn, record.receipt_handle)
        raise RetryLater(result.detail)
    if result.outcome is Outcome.RETRY:
        delay = backoff.postpone(record.event_source_arn, record.receipt_handle, receive_count)
        raise RetryLater(f"{result.detail} (next try in {delay}s)" if delay is not None else result.detail)
    return result.outcome.value


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
