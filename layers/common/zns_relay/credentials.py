"""eSMS credentials from Secrets Manager, cached, re-read on demand (after eSMS answers 101)."""

from __future__ import annotations

import threading
import time
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from pydantic import ValidationError

from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials

# The secret's JSON keys (fixed): operators write them, the functions read them.
SECRET_KEYS = {
    "ApiKey": "api_key",
    "SecretKey": "secret_key",
    "CallbackToken": "callback_token",
    "PreviousCallbackToken": "previous_callback_token",
}


class CredentialsProvider:
    """Thread-safe cache in front of Powertools' secrets provider."""

    def __init__(self, secret_id: str, provider: SecretsProvider, max_age_seconds: int = 300) -> None:
        self._secret_id = secret_id
        self._provider = provider
        self._max_age = max_age_seconds
        self._lock = threading.Lock()
        self._fetched_at = float("-inf")

    def get(self) -> EsmsCredentials:
        with self._lock:
            return self._load(force_fetch=False)

    def refresh(self, min_interval_seconds: float = 0) -> EsmsCredentials:
        """Read the secret again, skipping the cache (it may have been rotated).

        With `min_interval_seconds`, a read younger than that is reused: untrusted callers (a
        callback with a wrong token) cannot turn every request into a Secrets Manager call.
        """
        with self._lock:
            fresh_enough = time.monotonic() - self._fetched_at < min_interval_seconds
            return self._load(force_fetch=not fresh_enough)

    def _load(self, force_fetch: bool) -> EsmsCredentials:
        if force_fetch:
            self._fetched_at = time.monotonic()
        try:
            document: Any = self._provider.get(
                self._secret_id, transform="json", max_age=self._max_age, force_fetch=force_fetch
            )
        except Exception as error:
            # The provider's message can quote the secret's text when JSON parsing fails: drop it.
            raise ConfigurationError(f"could not read the eSMS secret ({type(error).__name__})") from None
        return parse_secret(document)


def parse_secret(document: Any) -> EsmsCredentials:
    if not isinstance(document, dict):
        raise ConfigurationError("the eSMS secret must be a JSON object")
    values = {field: document[key] for key, field in SECRET_KEYS.items() if document.get(key)}
    try:
        return EsmsCredentials.model_validate(values)
    except ValidationError as error:
        missing = sorted(
            key
            for key, field in SECRET_KEYS.items()
            if any(issue["loc"][0] == field for issue in error.errors())
        )
        raise ConfigurationError(f"the eSMS secret lacks or mistypes: {', '.join(missing)}") from None
