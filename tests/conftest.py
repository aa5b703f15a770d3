"""Shared fixtures: moto-backed AWS provisioned from template.yaml, a loopback eSMS, handler loading."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

# Before anything imports boto3 or Powertools: no real AWS, no X-Ray daemon.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "ZnsRelay",
        "POWERTOOLS_SERVICE_NAME": "zns-relay",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from local.aws.patches.atomic import atomic_dynamodb_in_process
from local.aws.patches.streams import one_stream_record_per_write
from local.aws.resources import function_environment, provision
from local.runtime.lambda_runtime import Handler, LambdaContext, context_for, load_handler
from local.runtime.template import FunctionSpec, Resolver, Template
from tests.support.esms_stub import EsmsStub

# No deadline per example, no health check on the time examples take to make: on a busy machine a slow
# example says how busy the machine is, not how the code is (a test's own suppress list replaces this one)
settings.register_profile("zns-relay", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("zns-relay")

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TEMPLATE = Template()
DEFAULT_OA_ID = "1397492183140006179"  # the deployment's DefaultOaId parameter in these tests


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    assert "AWS_ENDPOINT_URL" not in os.environ, "left set by an earlier test: boto3 would bypass moto's mock"
    with mock_aws(), atomic_dynamodb_in_process(), one_stream_record_per_write():
        yield boto3.Session(region_name="ap-southeast-1")


@pytest.fixture
def deployment(aws: boto3.Session) -> Resolver:
    """The template's queues, table and secret, created in moto from template.yaml."""
    return provision(TEMPLATE, aws, parameters={"DefaultOaId": DEFAULT_OA_ID})


@pytest.fixture
def esms() -> Iterator[EsmsStub]:
    with EsmsStub() as stub:
        yield stub


@dataclass
class LoadedFunction:
    spec: FunctionSpec
    handler: Handler
    module: ModuleType
    environment: dict[str, str]

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.handler(event, self.context())

    def context(self) -> LambdaContext:
        return context_for(self.spec)


def load_function(
    logical_id: str, deployment: Resolver, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, str]
) -> LoadedFunction:
    """Import a function as Lambda would: located by CodeUri/Handler/Layers, environment from the template."""
    spec = TEMPLATE.function(logical_id)
    environment = function_environment(spec, deployment, overrides)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    handler, module = load_handler(spec, environment)
    return LoadedFunction(spec, handler, module, environment)


CALLBACK_BASE_URL = "https://callbacks.example.test/callbacks/esms"


def sender_overrides(esms: EsmsStub) -> dict[str, str]:
    """What the tests' sender gets instead of the deployed URLs: the loopback eSMS, a 3 s read timeout."""
    return {
        "ESMS_BASE_URL": esms.base_url,
        "CALLBACK_BASE_URL": CALLBACK_BASE_URL,
        # Long enough for any answer on a busy machine; an answer that must time out never comes.
        "ESMS_READ_TIMEOUT_SECONDS": "3",
    }


@pytest.fixture
def sender(deployment: Resolver, esms: EsmsStub, monkeypatch: pytest.MonkeyPatch) -> LoadedFunction:
    return load_function("SenderFunction", deployment, monkeypatch, sender_overrides(esms))


@pytest.fixture
def callback(deployment: Resolver, monkeypatch: pytest.MonkeyPatch) -> LoadedFunction:
    return load_function("CallbackFunction", deployment, monkeypatch, {})


def load_event(name: str, **replacements: str) -> dict[str, Any]:
    """An event from events/, with its SQS records pointed at the provisioned queue when given."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    for record in event.get("Records", []):
        if "queue_arn" in replacements:
            record["eventSourceARN"] = replacements["queue_arn"]
    return event


def secret_values(
    session: boto3.Session, deployment: Resolver, logical_id: str = "EsmsSecret"
) -> dict[str, str]:
    arn = deployment.ref(logical_id)
    document: dict[str, str] = json.loads(
        session.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    )
    return document
