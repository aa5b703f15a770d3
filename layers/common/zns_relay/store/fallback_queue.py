"""Data access for FallbackQueue: the relay's own jobs waiting for the sender (SMS fallbacks, resends)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zns_relay.models.fallback_job import FallbackJob, ResendJob

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class FallbackQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def put(self, job: FallbackJob | ResendJob) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=job.model_dump_json())
