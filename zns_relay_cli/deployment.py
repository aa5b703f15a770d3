"""What the command works against: a deployed stack (found by name from its CloudFormation outputs and
parameters) or the local stack (found from its state folder); both described the same way, so every
subcommand has one code path.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound
from pydantic import SecretStr

from zns_relay.models.esms import EsmsCredentials
from zns_relay_cli.errors import CliError, NotFound, UserError
from zns_relay_cli.local_state import NoLocalStack, is_running, running_stack, state_folder

SAMCONFIG = "samconfig.toml"
DEFAULT_CONFIG_ENV = "default"
# The template's Outputs the command reads (and its parameters EsmsBaseUrl, DefaultOaId).
REQUIRED_OUTPUTS = ("SendQueueUrl", "SendDLQUrl", "StatusApiUrl", "StatusEventBusName", "EsmsSecretArn")
LOCAL_KEY = "local"  # the local stack takes any keys

# A stack's outputs and parameters by name: (outputs, parameters). Tests inject their own.
StackReader = Callable[[boto3.Session, str], tuple[dict[str, str], dict[str, str]]]


@dataclass(frozen=True)
class Deployment:
    name: str  # the stack's name, or "local"
    session: boto3.Session = field(repr=False)
    region: str
    queue_url: str
    dlq_url: str
    status_api_url: str
    event_bus_name: str
    esms_secret_id: str
    esms_base_url: str
    default_oa_id: str
    throttle_table_name: str = ""  # the person's refusals (zns-relay suppressions); none before issue 20
    endpoint_url: str | None = None  # the local stack's AWS endpoint
    local: bool = False

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def esms_credentials(self) -> EsmsCredentials:
        """The eSMS keys from the stack's secret (never printed)."""
        try:
            text = self.client("secretsmanager").get_secret_value(SecretId=self.esms_secret_id)[
                "SecretString"
            ]
            document = json.loads(text)
        except (KeyError, ValueError):  # a binary secret has no SecretString
            raise CliError("the eSMS secret is not JSON: it must hold ApiKey and SecretKey") from None
        keys = document if isinstance(document, dict) else {}
        if not keys.get("ApiKey") or not keys.get("SecretKey"):
            raise CliError(
                f"the eSMS secret {self.esms_secret_id} has no ApiKey and SecretKey yet"
                " (docs/deploying.md, Credentials)"
            )
        return EsmsCredentials(api_key=SecretStr(keys["ApiKey"]), secret_key=SecretStr(keys["SecretKey"]))


@dataclass(frozen=True)
class Choice:
    """The global options that choose the deployment."""

    stack: str | None = None
    config_env: str = DEFAULT_CONFIG_ENV
    profile: str | None = None
    region: str | None = None
    local: bool = False


def resolve(choice: Choice, read_stack: StackReader | None = None) -> Deployment:
    """`--local`, or `--stack`, or else the running local stack, or else samconfig.toml's stack."""
    if choice.local:
        return local_deployment()
    if choice.stack is None:
        folder = state_folder()
        if folder is not None and is_running(folder):
            return local_deployment()
    return stack_deployment(choice, read_stack or read_cloudformation)


def local_deployment() -> Deployment:
    try:
        state = running_stack()
    except NoLocalStack as missing:
        raise UserError(str(missing)) from None
    region = state["region"]
    return Deployment(
        name="local",
        session=boto3.Session(
            aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_KEY, region_name=region
        ),
        region=region,
        queue_url=state["queue_url"],
        dlq_url=state["dlq_url"],
        status_api_url=state["status_api_url"],
        event_bus_name=state["event_bus_name"],
        esms_secret_id=state["esms_secret_id"],
        esms_base_url=state["esms_url"],
        default_oa_id=state["default_oa_id"],
        throttle_table_name=state.get("throttle_table_name", ""),
        endpoint_url=state["aws_endpoint"],
        local=True,
    )


def stack_deployment(choice: Choice, read_stack: StackReader) -> Deployment:
    config = samconfig(choice.config_env)
    name = choice.stack or config.get("stack_name")
    if not name:
        raise UserError(
            f"which stack? pass --stack NAME (no stack_name in {SAMCONFIG} [{choice.config_env}])"
        )
    try:
        session = boto3.Session(profile_name=choice.profile, region_name=choice.region)
    except ProfileNotFound as error:
        raise UserError(str(error)) from None
    region = session.region_name or config.get("region")
    if not region:
        raise UserError("which region? pass --region, or set AWS_REGION or the profile's region")
    if session.region_name != region:
        session = boto3.Session(profile_name=choice.profile, region_name=region)
    outputs, parameters = read_stack(session, name)
    missing = [output for output in REQUIRED_OUTPUTS if output not in outputs]
    if missing:
        raise CliError(f"stack {name} has no output {', '.join(missing)}: deploy the current template.yaml")
    return Deployment(
        name=name,
        session=session,
        region=region,
        queue_url=outputs["SendQueueUrl"],
        dlq_url=outputs["SendDLQUrl"],
        status_api_url=outputs["StatusApiUrl"],
        event_bus_name=outputs["StatusEventBusName"],
        esms_secret_id=outputs["EsmsSecretArn"],
        esms_base_url=parameters.get("EsmsBaseUrl", ""),
        default_oa_id=parameters.get("DefaultOaId", ""),
        throttle_table_name=outputs.get("ThrottleTableName", ""),
    )


def read_cloudformation(session: boto3.Session, name: str) -> tuple[dict[str, str], dict[str, str]]:
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise NotFound(f"no stack {name} in {session.region_name}: check --stack and --region") from None
        raise
    except BotoCoreError as error:
        raise CliError(f"CloudFormation: {error}") from None
    stack = stacks[0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    parameters = {
        item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])
    }
    return outputs, parameters


def samconfig(config_env: str, start: Path | None = None) -> Mapping[str, Any]:
    """samconfig.toml's global and deploy parameters of `config_env` (nearest file up from here)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        path = folder / SAMCONFIG
        if path.is_file():
            try:
                document = tomllib.loads(path.read_text(encoding="utf-8")).get(config_env, {})
            except tomllib.TOMLDecodeError as error:
                raise UserError(f"{path} is not valid TOML: {error}") from None
            return {
                **document.get("deploy", {}).get("parameters", {}),
                **document.get("global", {}).get("parameters", {}),
            }
    return {}
