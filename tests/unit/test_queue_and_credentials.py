"""Retry delays as SQS applies them, the secrets' parsing and caching, and the settings' errors."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from local.runtime.template import Resolver
from zns_relay.config.credentials import SecretCache, parse_callback_secret, parse_esms_secret
from zns_relay.config.settings import CallbackSettings, ReconcilerSettings, SenderSettings
from zns_relay.models.errors import ConfigurationError
from zns_relay.store.queue import QueueVisibility


def test_postponed_message_stays_hidden_and_one_handed_back_comes_back_at_once(
    aws: boto3.Session, deployment: Resolver
) -> None:
    sqs = aws.client("sqs")
    queue_url, queue_arn = deployment.ref("SendQueue"), deployment.get_att("SendQueue", "Arn")
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    visibility = QueueVisibility(sqs)

    assert visibility.postpone(queue_arn, message["ReceiptHandle"], 60) == 60
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    assert visibility.postpone(queue_arn, message["ReceiptHandle"], 0) == 0
    assert len(sqs.receive_message(QueueUrl=queue_url)["Messages"]) == 1


def test_postpone_on_a_vanished_queue_is_reported_not_raised(aws: boto3.Session) -> None:
    visibility = QueueVisibility(aws.client("sqs"))
    arn = "arn:aws:sqs:ap-southeast-1:123456789012:no-such-queue"

    assert visibility.postpone(arn, "handle", 5) is None


def test_secret_lacking_keys_names_the_keys_and_never_the_values() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_esms_secret({"ApiKey": "visible-api-key", "SecretKey": ""})
    assert str(caught.value) == "the eSMS secret lacks or mistypes: SecretKey"
    assert "visible-api-key" not in str(caught.value)


def test_callback_secret_needs_its_key_and_keeps_the_previous_one_for_rotation() -> None:
    with pytest.raises(ConfigurationError, match="the callback key secret lacks or mistypes: CallbackKey"):
        parse_callback_secret({"PreviousCallbackKey": "old"})
    keys = parse_callback_secret({"CallbackKey": "new", "PreviousCallbackKey": "old"})
    assert keys.current.get_secret_value() == "new"
    assert keys.previous is not None and keys.previous.get_secret_value() == "old"


def test_secret_that_is_not_json_is_a_configuration_error_without_its_text(
    aws: boto3.Session, deployment: Resolver
) -> None:
    secrets = aws.client("secretsmanager")
    secrets.put_secret_value(SecretId=deployment.ref("EsmsSecret"), SecretString="ApiKey=hunter2")
    provider = SecretCache(
        deployment.ref("EsmsSecret"), SecretsProvider(boto3_client=secrets), parse_esms_secret
    )

    with pytest.raises(ConfigurationError) as caught:
        provider.get()

    assert "hunter2" not in str(caught.value)


def test_refresh_rereads_the_secret_but_not_more_often_than_asked(
    aws: boto3.Session, deployment: Resolver
) -> None:
    secrets = aws.client("secretsmanager")
    arn = deployment.ref("EsmsSecret")
    provider = SecretCache(arn, SecretsProvider(boto3_client=secrets), parse_esms_secret)
    first = provider.refresh(min_interval_seconds=60)
    values = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({**values, "ApiKey": "rotated"}))

    assert provider.refresh(min_interval_seconds=60) == first  # read a moment ago: reused
    assert provider.refresh().api_key.get_secret_value() == "rotated"


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(
        ConfigurationError,
        match="TABLE_NAME, ESMS_SECRET_ID, CALLBACK_SECRET_ID, FINGERPRINT_SECRET_ID, FALLBACK_TEXT_KEY_ID, "
        "THROTTLE_TABLE_NAME",
    ):
        SenderSettings.from_environment({})


def test_each_function_reads_only_the_secrets_it_needs() -> None:
    # The internet-facing webhook needs the callback key only; the reconciler the eSMS keys only.
    assert "esms_secret_id" not in CallbackSettings.model_fields
    assert "callback_secret_id" not in ReconcilerSettings.model_fields


SENDER_ENVIRONMENT = {
    "TABLE_NAME": "t",
    "ESMS_SECRET_ID": "s",
    "CALLBACK_SECRET_ID": "c",
    "FINGERPRINT_SECRET_ID": "f",
    "FALLBACK_TEXT_KEY_ID": "k",
    "THROTTLE_TABLE_NAME": "r",
}


def test_settings_read_the_template_values() -> None:
    settings = SenderSettings.from_environment(
        {**SENDER_ENVIRONMENT, "SANDBOX": "1", "RETRY_WINDOW_HOURS": "0.5"}
    )
    assert settings.sandbox_default is True
    assert settings.retry_window_seconds == 1800
    assert settings.esms_base_url == "https://rest.esms.vn/MainService.svc/json"


def test_a_retry_window_beyond_esms_duplicate_memory_is_refused() -> None:
    # eSMS forgets a RequestId after 24 h: a later retry could be accepted twice
    with pytest.raises(ConfigurationError, match="RETRY_WINDOW_HOURS"):
        SenderSettings.from_environment({**SENDER_ENVIRONMENT, "RETRY_WINDOW_HOURS": "24"})


def test_allowed_brandnames_are_read_as_a_set() -> None:
    settings = SenderSettings.from_environment(
        {
            **SENDER_ENVIRONMENT,
            "ALLOWED_BRANDNAMES": " Baotrixemay,Shop Bao ,",
            "DEFAULT_BRANDNAME": "Shop Bao",
        }
    )
    assert settings.allowed_brandnames == frozenset({"Baotrixemay", "Shop Bao"})


@pytest.mark.parametrize(
    ("environment", "reason"),
    [
        (
            {"DEFAULT_BRANDNAME": "BankX"},
            "DEFAULT_BRANDNAME (DefaultBrandname is not one of AllowedBrandnames)",
        ),
        (
            {"FALLBACK_DEFAULTS": json.dumps({"2056446": {"Content": "OTP {otp}", "Brandname": "BankX"}})},
            "FALLBACK_DEFAULTS (FallbackDefaults of TempID 2056446: a Brandname not in AllowedBrandnames)",
        ),
    ],
    ids=["default-brandname", "fallback-defaults"],
)
def test_a_default_brandname_outside_the_allowed_ones_is_refused(
    environment: dict[str, str], reason: str
) -> None:
    # Given a deployment allowing one brandname, and a default naming another
    with pytest.raises(ConfigurationError) as caught:
        SenderSettings.from_environment(
            {**SENDER_ENVIRONMENT, "ALLOWED_BRANDNAMES": "Baotrixemay", **environment}
        )
    # Then the sender refuses to start, saying which setting and why
    assert str(caught.value) == f"invalid or missing environment variables: {reason}"


@pytest.mark.parametrize(
    "url",
    [
        "http://rest.esms.vn/MainService.svc/json",
        "http://10.0.0.5:8080/MainService.svc/json",
        "ftp://rest.esms.vn/",
        "https://",
        "rest.esms.vn/MainService.svc/json",
    ],
)
def test_an_esms_url_that_is_not_https_is_refused(url: str) -> None:
    # Given an eSMS URL the keys would travel to in plain text (or nowhere)
    for name, settings in (("ESMS_BASE_URL", SenderSettings), ("ESMS_STATUS_URL", ReconcilerSettings)):
        # When a function reads it, Then it refuses to start, naming the variable
        with pytest.raises(ConfigurationError, match=name):
            settings.from_environment({**SENDER_ENVIRONMENT, name: url})


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4010/MainService.svc/json", "http://localhost:4010", "http://[::1]:4010"]
)
def test_plain_http_to_loopback_is_accepted_for_the_local_stack_and_the_tests(url: str) -> None:
    environment = {**SENDER_ENVIRONMENT, "ESMS_BASE_URL": url, "FALLBACK_QUEUE_URL": "q"}
    settings = ReconcilerSettings.from_environment(environment)
    assert settings.esms_base_url == url


def test_plain_http_to_another_host_only_when_the_local_stack_names_it() -> None:
    # Given the local stack advertising a Docker bridge address to `sam local` containers
    environment = {**SENDER_ENVIRONMENT, "CALLBACK_BASE_URL": "http://172.17.0.1:3000/callbacks/esms"}
    with pytest.raises(ConfigurationError, match="CALLBACK_BASE_URL"):
        SenderSettings.from_environment(environment)
    # When it names that host, Then plain http to it (and to it only) is accepted
    named = SenderSettings.from_environment({**environment, "PLAIN_HTTP_HOSTS": "172.17.0.1"})
    assert named.callback_base_url == "http://172.17.0.1:3000/callbacks/esms"
    with pytest.raises(ConfigurationError, match="ESMS_BASE_URL"):
        SenderSettings.from_environment(
            {**environment, "PLAIN_HTTP_HOSTS": "172.17.0.1", "ESMS_BASE_URL": "http://10.0.0.5/json"}
        )
