"""CallbackFunction's objects: the callback key to verify signatures, and the delivery reports."""

from __future__ import annotations

from zns_relay.composition.aws import build_reports, build_store, client, secret
from zns_relay.config.credentials import SecretCache, parse_callback_secret
from zns_relay.config.settings import CallbackSettings
from zns_relay.models.esms import CallbackKeys
from zns_relay.reports.callback_url import CallbackSigner
from zns_relay.reports.delivery import DeliveryReports


def build_callback_receiver(settings: CallbackSettings) -> tuple[CallbackSigner, DeliveryReports]:
    keys: SecretCache[CallbackKeys] = secret(
        settings.callback_secret_id,
        parse_callback_secret,
        settings.secret_max_age_seconds,
        client("secretsmanager"),
    )
    return CallbackSigner(keys), build_reports(settings, build_store(settings))
