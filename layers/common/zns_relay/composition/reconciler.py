"""ReconcilerFunction's objects: the reconciler with its store, eSMS status client and rate limits."""

from __future__ import annotations

from zns_relay.composition.aws import build_reports, build_store, client, secret
from zns_relay.config.credentials import SecretCache, parse_esms_secret
from zns_relay.config.settings import ReconcilerSettings
from zns_relay.esms.status import EsmsStatusClient
from zns_relay.models.esms import EsmsCredentials
from zns_relay.reconciler.discovery import SmsIdFinder
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.reconciler.rate_limit import RateLimiter
from zns_relay.reconciler.reconciler import Reconciler
from zns_relay.store.fallback_queue import FallbackQueue


def build_reconciler(settings: ReconcilerSettings) -> Reconciler:
    credentials: SecretCache[EsmsCredentials] = secret(
        settings.esms_secret_id, parse_esms_secret, settings.secret_max_age_seconds, client("secretsmanager")
    )
    store = build_store(settings)
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
        resends=FallbackQueue(client("sqs"), settings.fallback_queue_url),
        get_callback_limiter=RateLimiter(settings.get_callback_per_second),
        query_status_limiter=RateLimiter(settings.query_status_per_second),
        finder=SmsIdFinder(store, status, RateLimiter(settings.sent_data_per_second)),
    )
