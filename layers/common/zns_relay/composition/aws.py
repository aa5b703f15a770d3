"""What every function's wiring shares: boto3 clients configured alike, secrets, the message store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from zns_relay.config.credentials import SecretCache, SecretModel
from zns_relay.config.settings import CallbackSettings, FallbackSettings, ReconcilerSettings, SenderSettings
from zns_relay.reports.delivery import DeliveryReports, FollowUp
from zns_relay.store.messages import MessageStore
from zns_relay.store.pauses import Pauses
from zns_relay.store.suppressions import Suppressions

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


def client(service: str, pool_size: int = 10) -> Any:
    return boto3.client(service, config=aws_config(pool_size))  # type: ignore[call-overload]


def secret(
    secret_id: str, parse: Callable[[Any], SecretModel], max_age_seconds: int, secrets_client: Any
) -> SecretCache[SecretModel]:
    return SecretCache(secret_id, SecretsProvider(boto3_client=secrets_client), parse, max_age_seconds)


def build_store(settings: _AnySettings, pool_size: int = 10) -> MessageStore:
    return MessageStore(
        settings.table_name, client("dynamodb", pool_size), retention_days=settings.retention_days
    )


def build_reports(settings: CallbackSettings | ReconcilerSettings, store: MessageStore) -> DeliveryReports:
    suppressions = Suppressions(settings.throttle_table_name, client("dynamodb"), settings.suppression_days)
    pauses = Pauses(settings.throttle_table_name, client("dynamodb"))
    return DeliveryReports(store, FollowUp(settings.reconcile_after_seconds), suppressions, pauses)
