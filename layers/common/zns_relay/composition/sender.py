"""SenderFunction's objects: the send logic with its store, eSMS clients, secrets, pacing, KMS key and
the templates' limits (GetZnsTemplateInfo, under the same eSMS keys)."""

from __future__ import annotations

from zns_relay.composition.aws import client, secret
from zns_relay.config.credentials import (
    SecretCache,
    parse_callback_secret,
    parse_esms_secret,
    parse_fingerprint_secret,
)
from zns_relay.config.settings import SenderSettings
from zns_relay.esms.client import EsmsClient
from zns_relay.esms.http import pooled_session
from zns_relay.esms.templates import EsmsTemplateClient
from zns_relay.models.esms import CallbackKeys, EsmsCredentials, FingerprintKeys
from zns_relay.reports.callback_url import CallbackSigner
from zns_relay.reports.delivery import FollowUp
from zns_relay.sender.fingerprint import MessageFingerprints
from zns_relay.sender.pacing import SendPacer
from zns_relay.sender.policy import SenderPolicy
from zns_relay.sender.sealing import FallbackTexts
from zns_relay.sender.sender import MessageSender
from zns_relay.sender.temp_data_seal import TempDataSeals
from zns_relay.sender.template_limits import TemplateLimits
from zns_relay.store.deferred import DeferredMessages
from zns_relay.store.holds import HoldRecords
from zns_relay.store.messages import MessageStore
from zns_relay.store.queue import QueueVisibility
from zns_relay.store.throttle import SharedRate


def build_sender(settings: SenderSettings) -> MessageSender:
    secrets = client("secretsmanager", settings.send_concurrency)
    credentials: SecretCache[EsmsCredentials] = secret(
        settings.esms_secret_id, parse_esms_secret, settings.secret_max_age_seconds, secrets
    )
    callback_keys: SecretCache[CallbackKeys] = secret(
        settings.callback_secret_id, parse_callback_secret, settings.secret_max_age_seconds, secrets
    )
    fingerprint_keys: SecretCache[FingerprintKeys] = secret(
        settings.fingerprint_secret_id, parse_fingerprint_secret, settings.secret_max_age_seconds, secrets
    )
    # One pool of connections to eSMS for the sends and the template look-ups (the same host).
    esms_session = pooled_session(settings.send_concurrency)
    esms = EsmsClient(
        settings.esms_base_url,
        connect_timeout=settings.esms_connect_timeout,
        read_timeout=settings.esms_read_timeout,
        session=esms_session,
    )
    template_info = EsmsTemplateClient(
        settings.esms_base_url, (settings.esms_connect_timeout, settings.esms_read_timeout), esms_session
    )
    templates = TemplateLimits(template_info, credentials.get, ttl_seconds=settings.template_cache_seconds)
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
    dynamodb = client("dynamodb", settings.send_concurrency)
    store = MessageStore(settings.table_name, dynamodb, retention_days=settings.retention_days)
    pacer = SendPacer(
        SharedRate(settings.throttle_table_name, dynamodb, ceiling=settings.esms_rate_limit),
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
        fallback_texts=FallbackTexts(client("kms", settings.send_concurrency), settings.fallback_text_key_id),
        temp_data_seals=TempDataSeals(fingerprint_keys),
        deferred=DeferredMessages(settings.table_name, dynamodb),
        policy=policy,
        follow_up=FollowUp(settings.reconcile_after_seconds),
        templates=templates,
        holds=HoldRecords(settings.throttle_table_name, dynamodb),
        pacer=pacer,
    )


def build_queue_visibility(settings: SenderSettings) -> QueueVisibility:
    return QueueVisibility(client("sqs", settings.send_concurrency))
