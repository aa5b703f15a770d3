"""Create the template's queues, tables, secrets, KMS keys and event buses in moto (in-process or server
mode), from template.yaml."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

import boto3

from local.esms_sim import LOCAL_API_KEY, LOCAL_SECRET_KEY
from local.runtime.template import PSEUDO_PARAMETERS, FunctionSpec, Resolver, Template, UnresolvableError

SQS_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
)
TABLE_ARGUMENTS = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
# Local-only secrets, by the template's logical id: the simulator's account, and the callback key
# that signed the URLs in events/callback-*.json.
LOCAL_CALLBACK_KEY = "local-callback-key"
LOCAL_SECRET_VALUES: dict[str, dict[str, str]] = {
    "EsmsSecret": {"ApiKey": LOCAL_API_KEY, "SecretKey": LOCAL_SECRET_KEY},
    "CallbackKeySecret": {"CallbackKey": LOCAL_CALLBACK_KEY},
}


def provision(
    template: Template,
    session: boto3.Session,
    *,
    endpoint_url: str | None = None,
    name_prefix: str = "zns-relay-local",
    parameters: Mapping[str, str] | None = None,
    secret_values: Mapping[str, Mapping[str, str]] | None = None,
) -> Resolver:
    """Create every queue, table, secret, KMS key and event bus the template declares; return their
    physical values."""
    resolver = Resolver(parameters={**template.parameter_defaults(), **(parameters or {})})
    clients = _Clients(session, endpoint_url)
    queues = template.resources_of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names its target's ARN.
    for logical_id in sorted(queues, key=lambda name: "RedrivePolicy" in queues[name]):
        _create_queue(clients, resolver, f"{name_prefix}-{logical_id}", logical_id, queues[logical_id])
    for logical_id, properties in template.resources_of_type("AWS::DynamoDB::Table").items():
        _create_table(clients, resolver, f"{name_prefix}-{logical_id}", logical_id, properties)
    for logical_id, properties in template.resources_of_type("AWS::Events::EventBus").items():
        _create_event_bus(clients, resolver, logical_id, properties)
    for logical_id, resource in template.resources.items():
        # A key the template makes only on a condition (SecretsKey) stays off, as its parameter's default.
        if resource["Type"] == "AWS::KMS::Key" and "Condition" not in resource:
            _create_key(clients, resolver, logical_id, resource["Properties"])
    for logical_id, properties in template.resources_of_type("AWS::SecretsManager::Secret").items():
        values = {**LOCAL_SECRET_VALUES.get(logical_id, {}), **(secret_values or {}).get(logical_id, {})}
        _create_secret(clients, resolver, logical_id, properties, values)
    return resolver


def function_environment(
    spec: FunctionSpec, resolver: Resolver, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The function's environment variables as Lambda would see them, with local overrides."""
    overrides = overrides or {}
    environment = {}
    for name, value in spec.environment.items():
        if name in overrides:
            environment[name] = overrides[name]
            continue
        try:
            environment[name] = str(resolver.resolve(value))
        except UnresolvableError as error:
            raise UnresolvableError(f"{spec.logical_id}: {name} needs {error} (pass an override)") from None
    extra = {name: value for name, value in overrides.items() if name not in environment}
    return {**environment, **extra}


class _Clients:
    def __init__(self, session: boto3.Session, endpoint_url: str | None) -> None:
        self._session = session
        self._endpoint_url = endpoint_url

    def __call__(self, service: str) -> Any:
        return self._session.client(  # type: ignore[call-overload]
            service, endpoint_url=self._endpoint_url, region_name=PSEUDO_PARAMETERS["AWS::Region"]
        )


def _create_queue(
    clients: _Clients, resolver: Resolver, name: str, logical_id: str, properties: dict[str, Any]
) -> None:
    sqs = clients("sqs")
    attributes = {key: str(resolver.resolve(properties[key])) for key in SQS_ATTRIBUTES if key in properties}
    if "RedrivePolicy" in properties:
        redrive = resolver.resolve(properties["RedrivePolicy"])
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resolver.refs[logical_id] = url
    resolver.attributes.update(
        {(logical_id, "Arn"): arn, (logical_id, "QueueName"): name, (logical_id, "QueueUrl"): url}
    )


def _create_table(
    clients: _Clients, resolver: Resolver, name: str, logical_id: str, properties: dict[str, Any]
) -> None:
    dynamodb = clients("dynamodb")
    arguments = {key: resolver.resolve(properties[key]) for key in TABLE_ARGUMENTS if key in properties}
    if "StreamSpecification" in properties:  # CloudFormation's form names the view type only
        arguments["StreamSpecification"] = {
            "StreamEnabled": True,
            **resolver.resolve(properties["StreamSpecification"]),
        }
    table = dynamodb.create_table(TableName=name, **arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=resolver.resolve(ttl))
    resolver.refs[logical_id] = name
    resolver.attributes[(logical_id, "Arn")] = table["TableArn"]
    if "LatestStreamArn" in table:
        resolver.attributes[(logical_id, "StreamArn")] = table["LatestStreamArn"]


def _create_event_bus(
    clients: _Clients, resolver: Resolver, logical_id: str, properties: dict[str, Any]
) -> None:
    name = str(resolver.resolve(properties["Name"]))
    arn = clients("events").create_event_bus(Name=name)["EventBusArn"]
    resolver.refs[logical_id] = name
    resolver.attributes.update({(logical_id, "Arn"): arn, (logical_id, "Name"): name})


def _create_key(clients: _Clients, resolver: Resolver, logical_id: str, properties: dict[str, Any]) -> None:
    """A symmetric key; its policy is left out: it names the functions' roles, which the local stack
    does not make, and moto does not enforce key policies (tests/infra checks the template's)."""
    description = str(resolver.resolve(properties.get("Description", logical_id)))
    key = clients("kms").create_key(Description=description)["KeyMetadata"]
    resolver.refs[logical_id] = key["KeyId"]
    resolver.attributes.update({(logical_id, "Arn"): key["Arn"], (logical_id, "KeyId"): key["KeyId"]})


def _create_secret(
    clients: _Clients,
    resolver: Resolver,
    logical_id: str,
    properties: dict[str, Any],
    values: Mapping[str, str],
) -> None:
    """Create the secret as CloudFormation would, then put the local credentials into it."""
    document: dict[str, str] = json.loads(properties.get("SecretString", "{}"))
    generate = properties.get("GenerateSecretString")
    if generate:
        document.update(json.loads(generate.get("SecretStringTemplate", "{}")))
        alphabet = string.ascii_letters + string.digits
        length = int(generate.get("PasswordLength", 32))
        document[generate["GenerateStringKey"]] = "".join(secrets.choice(alphabet) for _ in range(length))
    document.update(values)
    name = str(resolver.resolve(properties.get("Name", f"zns-relay-local/{logical_id}")))
    arn = clients("secretsmanager").create_secret(Name=name, SecretString=json.dumps(document))["ARN"]
    resolver.refs[logical_id] = arn
