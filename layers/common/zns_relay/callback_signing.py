"""CallbackUrls that name their message: `<base>/<RequestId>/<signature>`.

eSMS signs nothing and calls back with GET, so the URL we give it carries the proof: an HMAC-SHA256
of the RequestId under the callback key, truncated to 132 bits and base64url-encoded (22 characters).
A valid URL can move only the message it names; a leaked one, only that message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from zns_relay.credentials import SecretCache
from zns_relay.models.esms import CallbackKeys

SIGNATURE_CHARS = 22
_SIGNATURE_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{SIGNATURE_CHARS}}}")
_CONTEXT = b"zns-relay callback v1\x00"  # a key used for anything else never yields these signatures
# A signature that matches no key we hold may mean the key was rotated: re-read the secret, but not
# more often than this, so that forged callbacks cannot turn into Secrets Manager calls.
KEY_REFRESH_INTERVAL_SECONDS = 60


def sign(key: bytes, request_id: str) -> str:
    digest = hmac.new(key, _CONTEXT + request_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:SIGNATURE_CHARS]


class CallbackSigner:
    """Signs CallbackUrls (sender) and verifies the signature a callback presents (webhook)."""

    def __init__(self, keys: SecretCache[CallbackKeys], base_url: str = "") -> None:
        self._keys = keys
        self._base_url = base_url.rstrip("/")

    def url_for(self, request_id: str) -> str:
        key = self._keys.get().current.get_secret_value().encode()
        return f"{self._base_url}/{request_id}/{sign(key, request_id)}"

    def verify(self, request_id: str, signature: str) -> bool:
        """Constant-time check against the current and the previous key (rotation)."""
        if not _SIGNATURE_SHAPE.fullmatch(signature):
            return False
        if self._matches(self._keys.get(), request_id, signature):
            return True
        return self._matches(
            self._keys.refresh(min_interval_seconds=KEY_REFRESH_INTERVAL_SECONDS), request_id, signature
        )

    @staticmethod
    def _matches(keys: CallbackKeys, request_id: str, signature: str) -> bool:
        offered = signature.encode("ascii")
        candidates = [key for key in (keys.current, keys.previous) if key is not None]
        # Compare against every candidate (no early exit) so that timing tells nothing.
        results = [
            hmac.compare_digest(offered, sign(key.get_secret_value().encode(), request_id).encode("ascii"))
            for key in candidates
        ]
        return any(results)
