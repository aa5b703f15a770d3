"""Retry delays as SQS applies them, the secret's parsing and caching, and the settings' errors."""

from __future__ import annotations

import json
import random

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from local.template import Resolver
from zns_relay.credentials import CredentialsProvider, parse_secret
from zns_relay.models.errors import ConfigurationError
from zns_relay.settings import Settings
from zns_relay.store.queue import QueueBackoff


def test_postponed_message_stays_hidden_and_released_one_comes_back(
    aws: boto3.Session, deployment: Resolver
) -> None:
    sqs = aws.client("sqs")
    queue_url, queue_arn = deployment.ref("SendQueue"), deployment.get_att("SendQueue", "Arn")
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    backoff = QueueBackoff(sqs, base_seconds=60, max_seconds=900, rng=random.Random(1))

    delay = backoff.postpone(queue_arn, message["ReceiptHandle"], receive_count=1)

    assert delay == 60
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    assert backoff.release(queue_arn, message["ReceiptHandle"]) == 0
    assert len(sqs.receive_message(QueueUrl=queue_url)["Messages"]) == 1


def test_postpone_on_a_vanished_queue_is_reported_not_raised(aws: boto3.Session) -> None:
    backoff = QueueBackoff(aws.client("sqs"), base_seconds=1, max_seconds=1)
    arn = "arn:aws:sqs:ap-southeast-1:123456789012:no-such-queue"

    assert backoff.postpone(arn, "handle", receive_count=1) is None


def test_secret_lacking_keys_names_the_keys_and_never_the_values() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_secret({"ApiKey": "visible-api-key", "CallbackToken": ""})
    assert str(caught.value) == "the eSMS secret lacks or mistypes: CallbackToken, SecretKey"
    assert "visible-api-key" not in str(caught.value)


def test_secret_that_is_not_json_is_a_configuration_error_without_its_text(
    aws: boto3.Session, deployment: Resolver
) -> None:
    secrets = aws.client("secretsmanager")
    secrets.put_secret_value(SecretId=deployment.ref("EsmsSecret"), SecretString="ApiKey=hunter2")
    provider = CredentialsProvider(deployment.ref("EsmsSecret"), SecretsProvider(boto3_client=secrets))

    with pytest.raises(ConfigurationError) as caught:
        provider.get()

    assert "hunter2" not in str(caught.value)


def test_refresh_rereads_the_secret_but_not_more_often_than_asked(
    aws: boto3.Session, deployment: Resolver
) -> None:
    secrets = aws.client("secretsmanager")
    arn = deployment.ref("EsmsSecret")
    provider = CredentialsProvider(arn, SecretsProvider(boto3_client=secrets))
    first = provider.refresh(min_interval_seconds=60)
    values = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({**values, "ApiKey": "rotated"}))

    assert provider.refresh(min_interval_seconds=60) == first  # read a moment ago: reused
    assert provider.refresh().api_key.get_secret_value() == "rotated"


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="TABLE_NAME, CALLBACKS_TABLE_NAME, ESMS_SECRET_ID"):
        Settings.from_environment({})


def test_settings_read_the_template_values() -> None:
    settings = Settings.from_environment(
        {
            "TABLE_NAME": "t",
            "CALLBACKS_TABLE_NAME": "c",
            "ESMS_SECRET_ID": "s",
            "SANDBOX": "1",
            "MAX_RECEIVE_COUNT": "8",
        }
    )
    assert settings.sandbox_default is True
    assert settings.max_receive_count == 8
    assert settings.esms_base_url == "https://rest.esms.vn/MainService.svc/json"
