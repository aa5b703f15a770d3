"""Builds the long-lived objects of a function once per execution environment (Lambda init)."""

from __future__ import annotations

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from zns_relay.credentials import CredentialsProvider
from zns_relay.delivery import CallbackAuthenticator, DeliveryReports
from zns_relay.esms.client import EsmsClient
from zns_relay.sending import MessageSender, SenderPolicy
from zns_relay.settings import Settings
from zns_relay.store.messages import MessageStore
from zns_relay.store.parking import ParkedCallbacks
from zns_relay.store.queue import QueueBackoff


def aws_config(pool_size: int) -> Config:
    """Shared by every boto3 client: a pool as large as the send threads, standard retries, and
    timeouts short enough that a slow AWS call cannot eat the invocation (the default read is 60 s)."""
    return Config(
        max_pool_connections=max(pool_size, 10),
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
    )


def build_state(settings: Settings) -> tuple[MessageStore, DeliveryReports]:
    """The message store and the delivery reports over it, sharing one DynamoDB client."""
    client = boto3.client("dynamodb", config=aws_config(settings.send_concurrency))
    store = MessageStore(settings.table_name, client, retention_days=settings.retention_days)
    parked = ParkedCallbacks(
        settings.callbacks_table_name,
        client,
        window_seconds=settings.park_window_seconds,
        retention_days=settings.retention_days,
    )
    return store, DeliveryReports(store, parked)


def build_credentials(settings: Settings) -> CredentialsProvider:
    client = boto3.client("secretsmanager", config=aws_config(settings.send_concurrency))
    provider = SecretsProvider(boto3_client=client)
    return CredentialsProvider(settings.secret_id, provider, max_age_seconds=settings.secret_max_age_seconds)


def build_sender(settings: Settings) -> MessageSender:
    esms = EsmsClient(
        settings.esms_base_url,
        connect_timeout=settings.esms_connect_timeout,
        read_timeout=settings.esms_read_timeout,
        pool_size=settings.send_concurrency,
    )
    policy = SenderPolicy(
        default_oa_id=settings.default_oa_id,
        sandbox_default=settings.sandbox_default,
        max_receive_count=settings.max_receive_count,
        callback_base_url=settings.callback_base_url,
    )
    store, reports = build_state(settings)
    return MessageSender(store, esms, build_credentials(settings), policy, reports)


def build_callback_receiver(settings: Settings) -> tuple[CallbackAuthenticator, DeliveryReports]:
    _, reports = build_state(settings)
    return CallbackAuthenticator(build_credentials(settings)), reports


def build_queue_backoff(settings: Settings) -> QueueBackoff:
    client = boto3.client("sqs", config=aws_config(settings.send_concurrency))
    return QueueBackoff(client, settings.retry_base_seconds, settings.retry_max_seconds)
