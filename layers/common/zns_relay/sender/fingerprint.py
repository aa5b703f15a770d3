"""The duplicate fingerprint: what makes two messages the same message (who gets which template with
which parameters), so that a RequestId a producer reuses for another message never sends it.

It is an HMAC-SHA256 under a key from Secrets Manager, not a plain digest: TempData usually holds an
OTP, and a digest stored beside the item's phone, OA and TempID gives a 6-digit OTP back to a brute
force in seconds. The key rotates like the callback key (docs/deploying.md, Credentials): a message's
fingerprints under the current and the previous key both name it, so a retry during a rotation is
never taken for another message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from zns_relay.config.credentials import SecretCache
from zns_relay.models.esms import FingerprintKeys, ZaloSendRequest
from zns_relay.models.state import KEYED_FINGERPRINT_PREFIX

_CONTEXT = b"zns-relay fingerprint v1\x00"  # a key used for anything else never yields these
_DIGEST_CHARS = 27  # 160 bits of the MAC, base64url
# A fingerprint that matches neither key may mean the key was rotated since the secret was read: it is
# read again, but not more often than this.
KEY_REFRESH_INTERVAL_SECONDS = 60


def fingerprint(key: bytes, request: ZaloSendRequest) -> str:
    content = [
        request.phone,
        request.oa_id,
        request.temp_id,
        sorted((param.key, param.value) for param in request.temp_data),
    ]
    text = json.dumps(content, ensure_ascii=False).encode()
    digest = hmac.new(key, _CONTEXT + text, hashlib.sha256).digest()
    return KEYED_FINGERPRINT_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")[:_DIGEST_CHARS]


class MessageFingerprints:
    """A message's fingerprints under the keys of the fingerprint secret; thread-safe."""

    def __init__(self, keys: SecretCache[FingerprintKeys]) -> None:
        self._keys = keys

    def of(self, request: ZaloSendRequest) -> tuple[str, ...]:
        """Under the current key (the one written), then under the previous one (still accepted)."""
        return tuple(fingerprint(key, request) for key in self._keys.get().in_use())

    def of_rereading_keys(self, request: ZaloSendRequest) -> tuple[str, ...]:
        """As `of`, with the secret read again first (at most once a minute)."""
        keys = self._keys.refresh(min_interval_seconds=KEY_REFRESH_INTERVAL_SECONDS)
        return tuple(fingerprint(key, request) for key in keys.in_use())
