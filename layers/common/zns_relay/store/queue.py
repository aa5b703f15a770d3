"""Data access for SendQueue: push a message's next receive out by the delay the logic chose."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.config.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class QueueVisibility:
    """ChangeMessageVisibility on the record's own queue; thread-safe (queue URLs cached under a lock)."""

    def __init__(self, client: SQSClient) -> None:
        self._client = client
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def postpone(self, queue_arn: str, receipt_handle: str, delay_seconds: int) -> int | None:
        """Hide the message for `delay_seconds`; return the delay, or None if SQS refused.

        A zero delay makes it visible at once (a record handed back unsent).
        """
        try:
            self._client.change_message_visibility(
                QueueUrl=self._queue_url(queue_arn),
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=delay_seconds,
            )
        except (ClientError, BotoCoreError) as error:
            # The message still comes back, after the queue's own visibility timeout.
            logger.warning("could not set the retry delay", extra={"error": type(error).__name__})
            return None
        return delay_seconds

    def _queue_url(self, queue_arn: str) -> str:
        with self._lock:
            if queue_arn not in self._urls:
                _, _, _, _, account, name = queue_arn.split(":", 5)
                response = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
                self._urls[queue_arn] = response["QueueUrl"]
            return self._urls[queue_arn]
