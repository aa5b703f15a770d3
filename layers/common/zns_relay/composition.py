"""Builds the long-lived objects of a function once per execution environment (Lambda init)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from zns_relay.callback_signing import CallbackSigner
from zns_relay.credentials import (
    SecretCache,
    SecretModel,
    parse_callback_secret,
    parse_esms_secret,
    parse_fingerprint_secret,
)
from zns_relay.delivery import DeliveryReports, FollowUp
from zns_relay.discovery import SmsIdFinder
from zns_relay.esms.client import EsmsClient
from zns_relay.esms.status import EsmsStatusClient
from zns_relay.fallbacks import Fallbacks
from zns_relay.fingerprint import MessageFingerprints
from zns_relay.lookup import MessageLookup
from zns_relay.models.esms import CallbackKeys, EsmsCredentials, FingerprintKeys
from zns_relay.pacing import SendPacer
from zns_relay.publishing import StatusEventPublisher
from zns_relay.rate_limit import RateLimiter
from zns_relay.reconciling import ReconcilePolicy, Reconciler
from zns_relay.sealing import FallbackTexts
from zns_relay.sending import MessageSender, SenderPolicy
from zns_relay.settings import (
    CallbackSettings,
    FallbackSettings,
    PublisherSettings,
    ReconcilerSettings,
    SenderSettings,
    StatusSettings,
)
from zns_relay.store.fallback_queue import FallbackQueue
from zns_relay.store.message_index import MessageIndex
from zns_relay.store.messages import MessageStore
from zns_relay.store.queue import QueueVisibility
from zns_relay.store.throttle import SharedRate

_AnySettings = CallbackSettings | SenderSettings | ReconcilerSettings | FallbackSettings


def aws_config(pool_size: int) -> Config:
    """Shared by every boto3 client: a pool as large as the send threads, standard retries, and
    timeouts short enough that a slow AWS call cannot eat the invocation (the default read is 60 s).

    No client-side parameter validation: it walks every request against the API model (a seventh of
    the sender's CPU per message, `make bench`), and the typed store code sends only well-formed
    requests; the service still refuses a malformed one (botocore's documented performance switch).
    """
    return Config(
        max_pool_connections=max(pool_size, 10),
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
        parameter_validation=False,
    )


def build_store(settings: _AnySettings, pool_size: int) -> MessageStore:
    client = boto3.client("dynamodb", config=aws_config(pool_size))
    return MessageStore(settings.table_name, client, retention_days=settings.retention_days)


def build_reports(settings: _AnySettings, store: MessageStore) -> DeliveryReports:
    return DeliveryReports(store, FollowUp(settings.reconcile_after_seconds))


def _secret(
    secret_id: str, parse: Callable[[Any], SecretModel], max_age_seconds: int, client: Any
) -> SecretCache[SecretModel]:
    return SecretCache(secret_id, SecretsProvider(boto3_client=client), parse, max_age_seconds)


def _secrets_client(pool_size: int) -> Any:
    return boto3.client("secretsmanager", config=aws_config(pool_size))


def build_sender(settings: SenderSettings) -> MessageSender:
    secrets = _secrets_client(settings.send_concurrency)
    credentials: SecretCache[EsmsCredentials] = _secret(
        settings.esms_secret_id, parse_esms_secret, settings.secret_max_age_seconds, secrets
    )
    callback_keys: SecretCache[CallbackKeys] = _secret(
        settings.callback_secret_id, parse_callback_secret, settings.secret_max_age_seconds, secrets
    )
    fingerprint_keys: SecretCache[FingerprintKeys] = _secret(
        settings.fingerprint_secret_id, parse_fingerprint_secret, settings.secret_max_age_seconds, secrets
    )
    esms = EsmsClient(
        settings.esms_base_url,
        connect_timeout=settings.esms_connect_timeout,
        read_timeout=settings.esms_read_timeout,
        pool_size=settings.send_concurrency,
    )
    policy = SenderPolicy(
        default_oa_id=settings.default_oa_id,
        sandbox_default=settings.sandbox_default,
        force_sandbox=settings.force_sandbox,
        allowed_oa_ids=settings.allowed_oa_ids,
        allowed_brandnames=settings.allowed_brandnames,
        default_brandname=settings.default_brandname,
        fallback_on=settings.fallback_on,
        fallback_defaults=settings.fallback_defaults,
        retry_window_seconds=settings.retry_window_seconds,
        default_validity_seconds=settings.default_validity_seconds,
        retry_base_seconds=settings.retry_base_seconds,
        retry_max_seconds=settings.retry_max_seconds,
        abandon_after_seconds=settings.abandon_after_seconds,
        min_seconds_to_send=settings.min_seconds_to_send,
        throttle_backlog=settings.sender_max_concurrency * settings.send_concurrency,
    )
    client = boto3.client("dynamodb", config=aws_config(settings.send_concurrency))
    store = MessageStore(settings.table_name, client, retention_days=settings.retention_days)
    pacer = SendPacer(
        SharedRate(settings.throttle_table_name, client, ceiling=settings.esms_rate_limit),
        ceiling=settings.esms_rate_limit,
        burst=settings.send_concurrency,
    )
    return MessageSender(
        store,
        esms,
        credentials,
        signer=CallbackSigner(callback_keys, settings.callback_base_url)
        if settings.callback_base_url
        else None,
        fingerprints=MessageFingerprints(fingerprint_keys),
        fallback_texts=FallbackTexts(
            boto3.client("kms", config=aws_config(settings.send_concurrency)), settings.fallback_text_key_id
        ),
        policy=policy,
        follow_up=FollowUp(settings.reconcile_after_seconds),
        pacer=pacer,
    )


def build_queue_visibility(settings: SenderSettings) -> QueueVisibility:
    return QueueVisibility(boto3.client("sqs", config=aws_config(settings.send_concurrency)))


def build_callback_receiver(settings: CallbackSettings) -> tuple[CallbackSigner, DeliveryReports]:
    keys: SecretCache[CallbackKeys] = _secret(
        settings.callback_secret_id,
        parse_callback_secret,
        settings.secret_max_age_seconds,
        _secrets_client(10),
    )
    return CallbackSigner(keys), build_reports(settings, build_store(settings, 10))


def build_reconciler(settings: ReconcilerSettings) -> Reconciler:
    credentials: SecretCache[EsmsCredentials] = _secret(
        settings.esms_secret_id, parse_esms_secret, settings.secret_max_age_seconds, _secrets_client(10)
    )
    store = build_store(settings, 10)
    status = EsmsStatusClient(
        settings.esms_base_url,
        settings.esms_status_url,
        connect_timeout=settings.esms_connect_timeout,
        read_timeout=settings.esms_read_timeout,
    )
    policy = ReconcilePolicy(
        unknown_after_seconds=settings.unknown_after_seconds,
        recheck_seconds=settings.recheck_seconds,
        abandon_after_seconds=settings.abandon_after_seconds,
        unknown_cap_seconds=settings.unknown_cap_seconds,
    )
    return Reconciler(
        store,
        status,
        credentials,
        build_reports(settings, store),
        policy,
        get_callback_limiter=RateLimiter(settings.get_callback_per_second),
        query_status_limiter=RateLimiter(settings.query_status_per_second),
        finder=SmsIdFinder(store, status, RateLimiter(settings.sent_data_per_second)),
    )


def build_fallbacks(settings: FallbackSettings) -> Fallbacks:
    queue = FallbackQueue(boto3.client("sqs", config=aws_config(10)), settings.fallback_queue_url)
    return Fallbacks(build_store(settings, 10), queue)


def build_publisher(settings: PublisherSettings) -> StatusEventPublisher:
    client = boto3.client("events", config=aws_config(10))
    return StatusEventPublisher(client, settings.event_bus_name, settings.event_phone_format)


def build_lookup(settings: StatusSettings) -> MessageLookup:
    client = boto3.client("dynamodb", config=aws_config(10))
    return MessageLookup(MessageIndex(settings.table_name, client))
