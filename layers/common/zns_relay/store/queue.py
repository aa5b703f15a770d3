"""Data access for SendQueue: push a failed message's next receive out by the backoff delay."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.backoff import retry_delay_seconds
from zns_relay.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class QueueBackoff:
    """ChangeMessageVisibility from ApproximateReceiveCount; thread-safe (queue URLs cached under a lock)."""

    def __init__(
        self, client: SQSClient, base_seconds: int, max_seconds: int, rng: random.Random | None = None
    ) -> None:
        self._client = client
        self._base = base_seconds
        self._max = max_seconds
        self._rng = rng or random.Random()
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def postpone(self, queue_arn: str, receipt_handle: str, receive_count: int) -> int | None:
        """Hide the message for the backoff delay; return the delay, or None if SQS refused."""
        with self._lock:
            delay = retry_delay_seconds(receive_count, self._base, self._max, self._rng)
        return self._set_visibility(queue_arn, receipt_handle, delay)

    def release(self, queue_arn: str, receipt_handle: str) -> int | None:
        """Make the message visible now, so that its next receive moves it to the DLQ at once."""
        return self._set_visibility(queue_arn, receipt_handle, 0)

    def _set_visibility(self, queue_arn: str, receipt_handle: str, delay: int) -> int | None:
        try:
            self._client.change_message_visibility(
                QueueUrl=self._queue_url(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=delay
            )
        except (ClientError, BotoCoreError) as error:
            # The message still comes back, after the queue's own visibility timeout.
            logger.warning("could not set the retry delay", extra={"error": type(error).__name__})
            return None
        return delay

    def _queue_url(self, queue_arn: str) -> str:
        with self._lock:
            if queue_arn not in self._urls:
                _, _, _, _, account, name = queue_arn.split(":", 5)
                response = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
                self._urls[queue_arn] = response["QueueUrl"]
            return self._urls[queue_arn]
