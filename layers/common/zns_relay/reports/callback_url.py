"""CallbackUrls that name their message: `<base>/<RequestId>/<signature>`.

eSMS signs nothing and calls back with GET, so the URL we give it carries the proof. Each message has
a random nonce, made when its item is created (the first claim, zns_relay.store.messages) and kept for
the item's life; the signature segment is that nonce (22 base64url characters, 128 bits) followed by
an HMAC-SHA256 of the RequestId and the nonce under the callback key, truncated to 132 bits (22
characters). A valid URL can move only the message it names, and only the item it was made for: a
RequestId used again after its item expired gets a new nonce, so the old URL no longer applies
(zns_relay.reports.delivery checks the nonce in the same conditional write that applies the report).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from zns_relay.config.credentials import SecretCache
from zns_relay.models.esms import CallbackKeys
from zns_relay.models.state import CALLBACK_NONCE_CHARS

MAC_CHARS = 22
SIGNATURE_CHARS = CALLBACK_NONCE_CHARS + MAC_CHARS
_NONCE_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{CALLBACK_NONCE_CHARS}}}")
_SIGNATURE_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{SIGNATURE_CHARS}}}")
_CONTEXT = b"zns-relay callback v2\x00"  # a key used for anything else never yields these signatures
# A signature that matches no key we hold may mean the key was rotated: re-read the secret, but not
# more often than this, so that forged callbacks cannot turn into Secrets Manager calls.
KEY_REFRESH_INTERVAL_SECONDS = 60


def sign(key: bytes, request_id: str, nonce: str) -> str:
    """The URL's signature segment: the nonce, then the MAC of the RequestId and the nonce."""
    if not _NONCE_SHAPE.fullmatch(nonce):
        raise ValueError(f"a callback nonce is {CALLBACK_NONCE_CHARS} base64url characters")
    # A RequestId never holds NUL (models.contract.REQUEST_ID_PATTERN): the two parts cannot run together.
    signed = _CONTEXT + request_id.encode() + b"\x00" + nonce.encode("ascii")
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return nonce + base64.urlsafe_b64encode(digest).decode("ascii")[:MAC_CHARS]


class CallbackSigner:
    """Signs CallbackUrls (sender) and verifies the signature a callback presents (webhook)."""

    def __init__(self, keys: SecretCache[CallbackKeys], base_url: str = "") -> None:
        self._keys = keys
        self._base_url = base_url.rstrip("/")

    def url_for(self, request_id: str, nonce: str) -> str:
        key = self._keys.get().current.get_secret_value().encode()
        return f"{self._base_url}/{request_id}/{sign(key, request_id, nonce)}"

    def verified_nonce(self, request_id: str, signature: str) -> str | None:
        """The nonce a signature carries when its MAC is ours (current or previous key, in constant
        time), else None. The caller applies the callback only to an item holding that nonce."""
        if not _SIGNATURE_SHAPE.fullmatch(signature):
            return None
        nonce = signature[:CALLBACK_NONCE_CHARS]
        if self._matches(self._keys.get(), request_id, nonce, signature):
            return nonce
        keys = self._keys.refresh(min_interval_seconds=KEY_REFRESH_INTERVAL_SECONDS)
        return nonce if self._matches(keys, request_id, nonce, signature) else None

    @staticmethod
    def _matches(keys: CallbackKeys, request_id: str, nonce: str, signature: str) -> bool:
        offered = signature.encode("ascii")
        candidates = [key for key in (keys.current, keys.previous) if key is not None]
        # Compare against every candidate (no early exit) so that timing tells nothing.
        results = [
            hmac.compare_digest(
                offered, sign(key.get_secret_value().encode(), request_id, nonce).encode("ascii")
            )
            for key in candidates
        ]
        return any(results)
