"""GuardrailsFunction's objects: the check with the OAs to watch, eSMS's account client and the keys."""

from __future__ import annotations

from zns_relay.composition.aws import client, secret
from zns_relay.config.credentials import SecretCache, parse_esms_secret
from zns_relay.config.settings import GuardrailsSettings
from zns_relay.esms.account import OaAccountClient
from zns_relay.guardrails.check import GuardrailsCheck
from zns_relay.models.esms import EsmsCredentials


def build_guardrails(settings: GuardrailsSettings) -> GuardrailsCheck:
    credentials: SecretCache[EsmsCredentials] = secret(
        settings.esms_secret_id, parse_esms_secret, settings.secret_max_age_seconds, client("secretsmanager")
    )
    account = OaAccountClient(
        settings.esms_base_url, timeout=(settings.esms_connect_timeout, settings.esms_read_timeout)
    )
    return GuardrailsCheck(
        settings.watched_oa_ids,
        account,
        credentials,
        settings.quota_alarm_percent,
        settings.seconds_per_oa,
    )
