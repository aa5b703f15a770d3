"""A message's TempData sealed in its item for a resend: opens for its own message only, under the
fingerprint secret's current or previous key, and holds nothing of the TempData in plain text."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from zns_relay.config.credentials import SecretCache, parse_fingerprint_secret
from zns_relay.models.contract import TemplateParam
from zns_relay.models.esms import ZaloSendRequest
from zns_relay.sender.sealing import SealedTextUnavailable
from zns_relay.sender.temp_data_seal import TempDataSeals

OTP = (TemplateParam(key="otp", value="482913"), TemplateParam(key="customer_name", value="Nguyễn Văn An"))
MESSAGE = ZaloSendRequest(
    phone="0901888484",
    oa_id="1397492183140006179",
    temp_id="2056446",
    temp_data=OTP,
    request_id="otp-1",
    sandbox=False,
)
LEFT_OUT = replace(MESSAGE, temp_data=())  # as a resend rebuilds it from the item


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
    sealed = box.seal(MESSAGE)
    assert box.open(sealed, LEFT_OUT) == OTP
    assert b"482913" not in sealed and "Nguyễn".encode() not in sealed
    assert box.seal(MESSAGE) != sealed  # a fresh nonce each time
    assert len(sealed) < 100  # a few dozen bytes over the TempData: the item stays under 1 KB


def test_it_does_not_open_for_another_message_another_phone_or_template_nor_once_damaged(
    aws: boto3.Session,
) -> None:
    box = FingerprintSecret(aws, "k" * 40).seals()
    sealed = box.seal(MESSAGE)
    elsewhere = [
        (sealed, replace(LEFT_OUT, request_id="otp-2")),  # copied onto another message
        (sealed, replace(LEFT_OUT, phone="0909999999")),  # its item changed to send it to someone else
        (sealed, replace(LEFT_OUT, temp_id="205644")),
        (sealed[:-1] + b"x", LEFT_OUT),  # damaged
    ]
    for damaged, request in elsewhere:
        with pytest.raises(SealedTextUnavailable) as raised:
            box.open(damaged, request)
        assert raised.value.permanent


def test_a_rotation_keeps_it_opening_until_its_key_is_dropped(aws: boto3.Session) -> None:
    secret = FingerprintSecret(aws, "old-key-" * 5)
    sealed = secret.seals().seal(MESSAGE)
    secret.rotate("new-key-" * 5, previous="old-key-" * 5)
    assert secret.seals().open(sealed, LEFT_OUT) == OTP
    secret.rotate("newest-key" * 4, previous="new-key-" * 5)
    with pytest.raises(SealedTextUnavailable, match="no longer held") as raised:
        secret.seals().open(sealed, LEFT_OUT)
    assert raised.value.permanent
