"""Secrets from Secrets Manager, cached, re-read on demand (after eSMS answers 101, or a callback
signature matches no key we hold: either may mean the secret was rotated).

Three secrets, so that each function reads only what it needs: the eSMS account keys (sender,
reconciler), the callback signing keys (sender, to sign; webhook, to verify) and the duplicate
fingerprint's keys (sender).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from pydantic import BaseModel, SecretStr, ValidationError

from zns_relay.config.observability import secret_values
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import CallbackKeys, EsmsCredentials, FingerprintKeys

SecretModel = TypeVar("SecretModel", bound=BaseModel)

# Each secret's JSON keys (fixed: operators write them) and the model fields they fill.
ESMS_SECRET_KEYS = {"ApiKey": "api_key", "SecretKey": "secret_key"}
CALLBACK_SECRET_KEYS = {"CallbackKey": "current", "PreviousCallbackKey": "previous"}
FINGERPRINT_SECRET_KEYS = {"FingerprintKey": "current", "PreviousFingerprintKey": "previous"}


class SecretCache(Generic[SecretModel]):
    """Thread-safe cache in front of Powertools' secrets provider, parsing the secret into a model."""

    def __init__(
        self,
        secret_id: str,
        provider: SecretsProvider,
        parse: Callable[[Any], SecretModel],
        max_age_seconds: int = 300,
    ) -> None:
        self._secret_id = secret_id
        self._provider = provider
        self._parse = parse
        self._max_age = max_age_seconds
        self._lock = threading.Lock()
        self._fetched_at = float("-inf")

    def get(self) -> SecretModel:
        with self._lock:
            return self._load(force_fetch=False)

    def refresh(self, min_interval_seconds: float = 0) -> SecretModel:
        """Read the secret again, skipping the cache (it may have been rotated).

        With `min_interval_seconds`, a read younger than that is reused: untrusted callers (a
        callback with a wrong signature) cannot turn every request into a Secrets Manager call.
        """
        with self._lock:
            fresh_enough = time.monotonic() - self._fetched_at < min_interval_seconds
            return self._load(force_fetch=not fresh_enough)

    def _load(self, force_fetch: bool) -> SecretModel:
        if force_fetch:
            self._fetched_at = time.monotonic()
        try:
            document: Any = self._provider.get(
                self._secret_id, transform="json", max_age=self._max_age, force_fetch=force_fetch
            )
        except Exception as error:
            # The provider's message can quote the secret's text when JSON parsing fails: drop it.
            raise ConfigurationError(f"could not read the secret ({type(error).__name__})") from None
        return self._parse(document)


def parse_esms_secret(document: Any) -> EsmsCredentials:
    return _parse(document, EsmsCredentials, ESMS_SECRET_KEYS, "the eSMS secret")


def parse_callback_secret(document: Any) -> CallbackKeys:
    return _parse(document, CallbackKeys, CALLBACK_SECRET_KEYS, "the callback key secret")


def parse_fingerprint_secret(document: Any) -> FingerprintKeys:
    return _parse(document, FingerprintKeys, FINGERPRINT_SECRET_KEYS, "the fingerprint key secret")


def _parse(document: Any, model: type[SecretModel], keys: Mapping[str, str], name: str) -> SecretModel:
    """The secret's values into `model`; errors name the missing keys, never any value."""
    if not isinstance(document, dict):
        raise ConfigurationError(f"{name} must be a JSON object")
    values = {field: document[key] for key, field in keys.items() if document.get(key)}
    try:
        parsed = model.model_validate(values)
    except ValidationError as error:
        missing = sorted(
            key for key, field in keys.items() if any(issue["loc"][0] == field for issue in error.errors())
        )
        raise ConfigurationError(f"{name} lacks or mistypes: {', '.join(missing)}") from None
    # Whatever the log settings, these values never reach a log line from here on.
    secret_values.add(
        *(value.get_secret_value() for value in parsed.__dict__.values() if isinstance(value, SecretStr))
    )
    return parsed
