"""A message's TempData sealed in its item for a resend: opens for its own message only, under the
fingerprint secret's current or previous key, and holds nothing of the TempData in plain text."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from zns_relay.config.credentials import SecretCache, parse_fingerprint_secret
from zns_relay.models.contract import TemplateParam
from zns_relay.sender.sealing import SealedTextUnavailable
from zns_relay.sender.temp_data_seal import TempDataSeals

OTP = (TemplateParam(key="otp", value="482913"), TemplateParam(key="customer_name", value="Nguyễn Văn An"))


class FingerprintSecret:
    """The fingerprint secret in Secrets Manager (moto), rotated as docs/deploying.md says."""

    def __init__(self, aws: boto3.Session, current: str) -> None:
        self._client = aws.client("secretsmanager")
        self._arn = self._client.create_secret(
            Name="fingerprint", SecretString=json.dumps({"FingerprintKey": current})
        )["ARN"]

    def rotate(self, current: str, previous: str) -> None:
        document = {"FingerprintKey": current, "PreviousFingerprintKey": previous}
        self._client.put_secret_value(SecretId=self._arn, SecretString=json.dumps(document))

    def seals(self) -> TempDataSeals:
        """A sender's seals, as a new container reads the secret."""
        provider = SecretsProvider(boto3_client=self._client)
        return TempDataSeals(SecretCache(self._arn, provider, parse_fingerprint_secret))


def test_it_opens_for_its_own_message_and_holds_no_value_in_plain_text(aws: boto3.Session) -> None:
    box = FingerprintSecret(aws, "k" * 40).seals()
    sealed = box.seal(OTP, "otp-1")
    assert box.open(sealed, "otp-1") == OTP
    assert b"482913" not in sealed and "Nguyễn".encode() not in sealed
    assert box.seal(OTP, "otp-1") != sealed  # a fresh nonce each time
    assert len(sealed) < 100  # a few dozen bytes over the TempData: the item stays under 1 KB


def test_it_does_not_open_for_another_message_nor_once_damaged(aws: boto3.Session) -> None:
    box = FingerprintSecret(aws, "k" * 40).seals()
    sealed = box.seal(OTP, "otp-1")
    for damaged, request_id in ((sealed, "otp-2"), (sealed[:-1] + b"x", "otp-1")):
        with pytest.raises(SealedTextUnavailable) as raised:
            box.open(damaged, request_id)
        assert raised.value.permanent


def test_a_rotation_keeps_it_opening_until_its_key_is_dropped(aws: boto3.Session) -> None:
    secret = FingerprintSecret(aws, "old-key-" * 5)
    sealed = secret.seals().seal(OTP, "otp-1")
    secret.rotate("new-key-" * 5, previous="old-key-" * 5)
    assert secret.seals().open(sealed, "otp-1") == OTP
    secret.rotate("newest-key" * 4, previous="new-key-" * 5)
    with pytest.raises(SealedTextUnavailable, match="no longer held") as raised:
        secret.seals().open(sealed, "otp-1")
    assert raised.value.permanent
