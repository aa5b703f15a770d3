"""The SMS fallback's text sealed at rest under FallbackTextKey (AWS KMS).

The text usually holds an OTP. The sender seals it when it plans the fallback and opens it only to
send the SMS: in between, the message item, the table's stream images and backups, FallbackQueue and
its DLQ hold ciphertext. The key's policy lets SenderFunction's role alone Encrypt and Decrypt, and the
encryption context names the message the SMS stands in for: a ciphertext copied onto another message
does not open (KMS authenticates the context with the text). One KMS request to seal, one to open.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.models.errors import ConfigurationError, ZnsRelayError

CONTEXT_KEY = "fallback_for"  # the key policy requires this encryption context key
# KMS's Decrypt errors that say the ciphertext itself is wrong (it will never open), and those that say
# the key or its policy is (an operator must act); the rest (throttling, KMS's own faults) are retried.
# https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html#API_Decrypt_Errors
UNREADABLE_ERRORS = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
CONFIGURATION_ERRORS = frozenset(
    {"AccessDeniedException", "DisabledException", "KMSInvalidStateException", "NotFoundException",
     "InvalidKeyUsageException"}
)  # fmt: skip


class SealedTextUnavailable(ZnsRelayError):
    """KMS did not seal or open a text; `permanent` when this ciphertext will never open."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class FallbackTexts:
    """Seals and opens SMS fallback texts; thread-safe (one boto3 KMS client)."""

    def __init__(self, client: Any, key_id: str) -> None:  # boto3's KMS client (no stubs installed)
        self._client = client
        self._key_id = key_id

    def seal(self, text: str, fallback_for: str) -> str:
        """The text encrypted for the SMS fallback of message `fallback_for` (base64)."""
        response = self._call("encrypt", Plaintext=text.encode(), EncryptionContext=_context(fallback_for))
        return base64.b64encode(response["CiphertextBlob"]).decode("ascii")

    def open(self, sealed: str, fallback_for: str) -> str:
        """The text `seal` encrypted for message `fallback_for`; SealedTextUnavailable otherwise."""
        try:
            blob = base64.b64decode(sealed, validate=True)
        except binascii.Error:
            raise SealedTextUnavailable("the SMS text is not a sealed text", permanent=True) from None
        response = self._call("decrypt", CiphertextBlob=blob, EncryptionContext=_context(fallback_for))
        return bytes(response["Plaintext"]).decode()

    def _call(self, operation: str, **arguments: Any) -> Any:
        """KMS's `operation` on the key; its failure as ConfigurationError or SealedTextUnavailable,
        naming KMS's error code only."""
        try:
            return getattr(self._client, operation)(KeyId=self._key_id, **arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in CONFIGURATION_ERRORS:
                raise ConfigurationError(f"KMS refused to {operation} the SMS text ({code})") from None
            reason = f"KMS could not {operation} the SMS text ({code or 'error'})"
            raise SealedTextUnavailable(reason, permanent=code in UNREADABLE_ERRORS) from None
        except BotoCoreError as error:
            raise SealedTextUnavailable(f"KMS not reached ({type(error).__name__})") from None


def _context(fallback_for: str) -> dict[str, str]:
    return {CONTEXT_KEY: fallback_for}
