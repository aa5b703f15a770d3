"""A ZNS message's TempData sealed in its item for as long as it may be sent again: a DEFERRED message
(zns_relay.models.zalo_rules) goes again hours later, when its SQS record is long gone.

TempData usually holds an OTP, so it is never kept in plain text: it is sealed with AES-256-GCM under a
key derived (HKDF-SHA256) from the fingerprint secret's key, and bound to its RequestId, phone, OA and
template: a sealed TempData copied onto another item does not open, nor one whose item was changed to
send it elsewhere. No KMS request per message, and a few dozen bytes
over the TempData itself: a DynamoDB write of the item still costs one unit. The seal names its key by a
short id, so a message sealed before a rotation opens under the previous key; one sealed under a key no
longer held never opens, and its resend fails. The store removes it when the message ends.
"""

from __future__ import annotations

import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zns_relay.config.credentials import SecretCache
from zns_relay.models.contract import TemplateParam
from zns_relay.models.esms import FingerprintKeys, ZaloSendRequest
from zns_relay.sender.sealing import SealedTextUnavailable

_VERSION = b"\x01"
_INFO = b"zns-relay temp-data seal v1"  # the fingerprint key's HMAC never meets this key
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_HEADER_BYTES = len(_VERSION) + _KEY_ID_BYTES + _NONCE_BYTES


def _bound_to(request: ZaloSendRequest) -> bytes:
    """What a sealed TempData is authenticated with: the message it belongs to."""
    return json.dumps([request.request_id, request.phone, request.oa_id, request.temp_id]).encode()


def _sealing_key(secret: bytes) -> tuple[bytes, bytes]:
    """The AES key derived from a fingerprint key, and its id."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return hashlib.sha256(key).digest()[:_KEY_ID_BYTES], key


class TempDataSeals:
    """Seals and opens TempData under the fingerprint secret's keys; thread-safe."""

    def __init__(self, keys: SecretCache[FingerprintKeys]) -> None:
        self._keys = keys

    def seal(self, request: ZaloSendRequest) -> bytes:
        """The request's TempData, sealed for its message."""
        key_id, key = _sealing_key(self._keys.get().in_use()[0])
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps([[param.key, param.value] for param in request.temp_data], ensure_ascii=False)
        return _VERSION + key_id + nonce + AESGCM(key).encrypt(nonce, plain.encode(), _bound_to(request))

    def open(self, sealed: bytes, request: ZaloSendRequest) -> tuple[TemplateParam, ...]:
        """The TempData `seal` sealed for this message (its RequestId, phone, OA and template);
        SealedTextUnavailable (permanent) when it never opens: another message's, damaged, or under a
        key no longer held."""
        if len(sealed) <= _HEADER_BYTES or sealed[:1] != _VERSION:
            raise SealedTextUnavailable("the stored TempData is not a sealed TempData", permanent=True)
        key_id, nonce, box = sealed[1:5], sealed[5:_HEADER_BYTES], sealed[_HEADER_BYTES:]
        key = self._key(key_id)
        try:
            plain = AESGCM(key).decrypt(nonce, box, _bound_to(request))
        except InvalidTag:
            raise SealedTextUnavailable("the stored TempData does not open", permanent=True) from None
        return tuple(TemplateParam(key=name, value=value) for name, value in json.loads(plain))

    def _key(self, key_id: bytes) -> bytes:
        """The key of `key_id` among those held, the secret read again (at most once a minute) when it
        is not: it may have been rotated in since this function read it."""
        for read in (self._keys.get, lambda: self._keys.refresh(min_interval_seconds=60)):
            for secret in read().in_use():
                candidate_id, key = _sealing_key(secret)
                if candidate_id == key_id:
                    return key
        raise SealedTextUnavailable(
            "the stored TempData was sealed under a fingerprint key no longer held", permanent=True
        )
