"""The embedded stack: AWS (moto), eSMS (simulator), the SQS and DynamoDB stream event sources and the
HTTP API, wired from template.yaml, running the real handlers unchanged in this process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from local.aws.resources import function_environment, provision
from local.aws.server import MotoServer
from local.esms_sim import BASE_PATH as ESMS_BASE_PATH
from local.esms_sim import EsmsSimulator, SimulatorConfig
from local.runtime.event_source import SqsEventSource
from local.runtime.http_api import HttpApiServer, Route
from local.runtime.lambda_runtime import ExecutionEnvironments
from local.runtime.schedule import Schedule
from local.runtime.streams import DynamoDBStreamEventSource, StreamMapping
from local.runtime.template import PSEUDO_PARAMETERS, FunctionSpec, Resolver, Template
from local.scenarios.crashes import CrashPlan
from local.timings import Timings, check, from_template
from zns_relay.store.items import from_item
from zns_relay_cli.local_state import STATE_ENV, STATE_FILE, running_stack

# Where `up` tells the `zns-relay` command (and `python -m local send|status|events`) about itself,
# and where the demo and soak write their function logs: $ZNS_RELAY_LOCAL_STATE, else local/.state.
STATE_DIR = Path(os.environ.get(STATE_ENV) or Path(__file__).resolve().parent / ".state")
HTTP_ENVIRONMENTS = 8  # concurrent invocations an HTTP API route gets locally (started when needed)
LOCAL_PARAMETERS = {"DefaultOaId": "1397492183140006179", "Stage": "dev"}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": PSEUDO_PARAMETERS["AWS::Region"],
    "AWS_REGION": PSEUDO_PARAMETERS["AWS::Region"],
}
# What the functions get locally instead of the deployed values: every wait scaled from minutes and
# hours down to seconds (retry delays, the retry window, the reconciler's timing) so that a demo shows
# retries, reconciliation and UNKNOWN within a minute; and no X-Ray daemon to send traces to. The
# scaled set keeps every relation local/timings.py checks (the stack refuses to start without).
LOCAL_FUNCTION_OVERRIDES = {
    "RETRY_BASE_SECONDS": "1",
    "RETRY_MAX_SECONDS": "3",
    "ESMS_READ_TIMEOUT_SECONDS": "2",
    # 5 min (12 h deployed, 1 h at least): ten visibility timeouts, as deployed at its shortest, so that
    # a message whose sender is killed, even again and again, is back and sent inside it.
    "RETRY_WINDOW_HOURS": "0.0833333",
    "RECONCILE_AFTER_MINUTES": "0.05",  # 3 s
    "RECHECK_MINUTES": "0.05",  # 3 s
    "ABANDON_AFTER_MINUTES": "0.75",  # 45 s (30 min deployed): longer than the visibility timeout
    "UNKNOWN_AFTER_HOURS": "0.01",  # 36 s
    # eSMS's 7-day memory of a message's status: 6 min, past the window and the abandon delay, as
    # deployed (7 days against 23 hours at most).
    "UNKNOWN_CAP_HOURS": "0.1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# The template's timeouts, scaled with the waits above: a sender invocation of 20 s (60 s deployed),
# whose records come back 30 s after a crash (360 s deployed: AWS's six times the function's timeout
# leaves room for the retries of its own poller, which the local one does not make).
LOCAL_RESOURCE_OVERRIDES: dict[str, dict[str, Any]] = {
    "SenderFunction": {"Timeout": 20},
    "SendQueue": {"VisibilityTimeout": 30},
    "FallbackQueue": {"VisibilityTimeout": 30},
}
SCHEDULE_SECONDS = 3.0  # how often the template's scheduled functions run locally
ADDRESS_CHECK_SECONDS = 5.0  # how long the advertised address may take to answer before it is refused


class UnusableAddress(Exception):
    """An address the stack cannot listen on, or an advertised one that does not reach it."""


def check_addresses(host: str, advertise_host: str) -> None:
    """UnusableAddress, in one line, unless this machine can listen on `host` and reach that listener at
    `advertise_host`: the stack's own clients and functions use the advertised address, as containers do."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as listener:
        try:
            listener.bind((host, 0))
            listener.listen()
        except OSError as error:
            raise UnusableAddress(f"cannot listen on --host {host}: {_reason(error)}") from None
        try:
            port = listener.getsockname()[1]
            socket.create_connection((advertise_host, port), ADDRESS_CHECK_SECONDS).close()
        except OSError as error:
            raise UnusableAddress(
                f"--advertise-host {advertise_host} does not reach the stack listening on {host} from this"
                f" machine ({_reason(error)}); give an address of this machine's that containers reach too:"
                " 172.17.0.1 (Docker's bridge on Linux) or host.docker.internal (Docker Desktop)"
            ) from None


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


@dataclass(frozen=True)
class StackInfo:
    """What `python -m local up` prints and `send`/`status` read back."""

    aws_endpoint: str
    queue_url: str
    dlq_url: str
    table_name: str
    callback_base_url: str
    esms_url: str
    event_bus_name: str
    status_api_url: str
    esms_secret_id: str
    default_oa_id: str
    throttle_table_name: str
    region: str = PSEUDO_PARAMETERS["AWS::Region"]

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_endpoint,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def publish(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        """Put the bodies on SendQueue as a producer does, ten to a SendMessageBatch."""
        sqs = self.client("sqs")
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(body, ensure_ascii=False)}
                for index, body in enumerate(bodies[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)

    def statuses(self) -> dict[str, str]:
        """Every message's status, by RequestId."""
        found: dict[str, str] = {}
        for page in (
            self.client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.table_name,
                ProjectionExpression="request_id, #s",
                ExpressionAttributeNames={"#s": "status"},
            )
        ):
            found.update({item["request_id"]["S"]: item["status"]["S"] for item in page["Items"]})
        return found

    def message(self, request_id: str) -> dict[str, Any] | None:
        """One message's item as plain Python, or None."""
        response = self.client("dynamodb").get_item(
            TableName=self.table_name, Key={"request_id": {"S": request_id}}
        )
        return from_item(response["Item"]) if "Item" in response else None

    def save(self, folder: Path = STATE_DIR) -> None:
        """Written by `up` while it holds the folder (local_state.hold)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STATE_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, folder: Path = STATE_DIR) -> StackInfo:
        """The running stack's; NoLocalStack (saying how to start one) when none runs."""
        return cls(**running_stack(folder))

    def environment(self) -> dict[str, str]:
        """What a plain AWS client (the AWS CLI, boto3) needs in its environment to use this stack."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }


def history_lines(message: Mapping[str, Any]) -> list[str]:
    """A message's history, a line per entry: time, status (or "(note)"), detail."""
    return [
        f"{entry['at']}  {entry.get('status', '(note)'):<10} {entry['detail']}"
        for entry in message.get("history", [])
    ]


class LocalStack:
    """Start, use and stop everything; `advertise_host` is the address others (containers) reach us at.

    `function_output` takes the functions' log lines and metrics (a file), instead of this stderr.
    `crashes` arms crashes in the functions' environments and records those that fired; it lives in
    `crash_dir` when given (kept after stop), else in a temporary directory removed at stop.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        advertise_host: str | None = None,
        simulator_config: SimulatorConfig | None = None,
        parameters: Mapping[str, str] | None = None,
        function_overrides: Mapping[str, str] | None = None,
        function_output: Path | None = None,
        template: Template | None = None,
        schedule_seconds: float = SCHEDULE_SECONDS,
        crash_dir: Path | None = None,
        resource_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """`resource_overrides` replace template properties by logical id, for this stack only (over
        LOCAL_RESOURCE_OVERRIDES). UnusableAddress when `host` or `advertise_host` cannot be used."""
        self.template = (template or Template()).with_properties(
            _merged(LOCAL_RESOURCE_OVERRIDES, resource_overrides or {})
        )
        self._host = host
        self._advertise = advertise_host or ("127.0.0.1" if host in ("0.0.0.0", "") else host)
        check_addresses(host, self._advertise)  # before the servers below bind
        self._parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self._overrides = {**LOCAL_FUNCTION_OVERRIDES, **(function_overrides or {})}
        self._function_output = function_output  # where the functions' log lines go (default: stderr)
        self._temporary_crash_dir = crash_dir is None
        self.crashes = CrashPlan(crash_dir or Path(tempfile.mkdtemp(prefix="zns-relay-crashes-")))
        self.moto = MotoServer(host)
        self.simulator = EsmsSimulator(host=host, config=simulator_config)
        self.http_api = HttpApiServer(host)
        self.event_sources: list[SqsEventSource] = []
        self.stream_sources: list[DynamoDBStreamEventSource] = []
        self.schedules: list[Schedule] = []
        self._schedule_seconds = schedule_seconds
        self.functions: dict[str, ExecutionEnvironments] = {}
        self.resolver = Resolver()
        self.info: StackInfo | None = None
        self._started: list[Callable[[], None]] = []

    @property
    def timings(self) -> Timings:
        return from_template(self.template, self._parameters, self._overrides, self._schedule_seconds)

    def start(self) -> StackInfo:
        """Start everything; BrokenTimings, before anything starts, if the stack's timings break a
        relation the relay relies on."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> StackInfo:
        if self._temporary_crash_dir:
            self._started.append(lambda: shutil.rmtree(self.crashes.root, ignore_errors=True))
        check(self.timings, local=True)
        self._started.append(self.moto.start().stop)
        endpoint = f"http://{self._advertise}:{self.moto.port}"
        self._point_this_process_at(endpoint)
        session = boto3.Session(region_name=PSEUDO_PARAMETERS["AWS::Region"])
        self.resolver = provision(self.template, session, endpoint_url=endpoint, parameters=self._parameters)
        for api in self.template.resources_of_type("AWS::Serverless::HttpApi"):
            self.resolver.refs[api] = "local"  # the one local HTTP API serves every HttpApi of the template
        event_bus_name = self.resolver.ref("StatusEventBus")
        self._started.append(self.simulator.start().stop)
        self._started.append(self.http_api.start().stop)
        callback_base_url = f"http://{self._advertise}:{self.http_api.port}/callbacks/esms"
        esms_url = f"http://{self._advertise}:{urlsplit(self.simulator.url).port}{ESMS_BASE_PATH}"
        overrides = {
            **self._overrides,
            "AWS_ENDPOINT_URL": endpoint,
            "ESMS_BASE_URL": esms_url,
            "ESMS_STATUS_URL": f"http://{self._advertise}:{urlsplit(self.simulator.url).port}",
            "CALLBACK_BASE_URL": callback_base_url,
            "PLAIN_HTTP_HOSTS": self._advertise,  # plain http to this stack, as to loopback
        }
        specs = [self.template.function(logical_id) for logical_id in self.template.functions()]
        for spec in specs:
            self._start_function(spec, overrides)
        # Events flow only once every function is warm (a schedule's first run waits for the others' init).
        for spec in specs:
            self._connect_events(spec, session)
        self.info = StackInfo(
            aws_endpoint=endpoint,
            queue_url=self.resolver.ref("SendQueue"),
            dlq_url=self.resolver.ref("SendDLQ"),
            table_name=self.resolver.ref("MessagesTable"),
            callback_base_url=callback_base_url,
            esms_url=esms_url,
            event_bus_name=event_bus_name,
            status_api_url=f"http://{self._advertise}:{self.http_api.port}",
            esms_secret_id=self.resolver.ref("EsmsSecret"),
            default_oa_id=self._parameters["DefaultOaId"],
            throttle_table_name=self.resolver.ref("ThrottleTable"),
        )
        return self.info

    def _point_this_process_at(self, endpoint: str) -> None:
        """Make this process's AWS clients use the stack while it runs; stop puts the environment back,
        so that what runs after it in the same process (a test with moto's mock) is not sent here."""
        pointing = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
        before = {name: os.environ.get(name) for name in pointing}

        def restore() -> None:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

        self._started.append(restore)
        os.environ.update(pointing)

    def stop(self) -> None:
        """Stop what was started, last first (event sources before the servers they use)."""
        while self._started:
            self._started.pop()()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env_vars_file(self) -> dict[str, dict[str, str]]:
        """`sam local invoke --env-vars` content: every function's environment, pointing at this stack.

        Only the variables the template declares for the function: SAM passes a function no other
        (docs/local-stack.md), and takes the credentials and region from its own shell.
        """
        return {
            logical_id: {
                name: value
                for name, value in function.environment.items()
                if name in self.template.function(logical_id).environment
            }
            for logical_id, function in self.functions.items()
        }

    def _events(self, spec: FunctionSpec) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """The function's events: kind, properties resolved, properties as the template declares them."""
        return [
            (event["Type"], self.resolver.resolve(event["Properties"]), event["Properties"])
            for event in spec.events.values()
        ]

    def _start_function(self, spec: FunctionSpec, overrides: dict[str, str]) -> None:
        concurrency = sum(
            int(properties.get("ScalingConfig", {}).get("MaximumConcurrency", 2))
            if kind == "SQS"
            else HTTP_ENVIRONMENTS
            if kind == "HttpApi"
            else 1
            for kind, properties, _ in self._events(spec)
        )
        function = ExecutionEnvironments(
            spec,
            function_environment(spec, self.resolver, overrides),
            max(concurrency, 1),
            self._function_output,
            self.crashes,
        )
        self._started.append(function.close)
        function.warm_up()
        self.functions[spec.logical_id] = function

    def _connect_events(self, spec: FunctionSpec, session: boto3.Session) -> None:
        function = self.functions[spec.logical_id]
        for kind, properties, declared in self._events(spec):
            if kind == "SQS":
                queue_arn = properties["Queue"]
                queue_name = queue_arn.rsplit(":", 1)[1]
                sqs = session.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
                source = SqsEventSource(
                    sqs,
                    queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                    queue_arn=queue_arn,
                    function=function,
                    batch_size=int(properties.get("BatchSize", 10)),
                    max_concurrency=int(properties.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
                    region=PSEUDO_PARAMETERS["AWS::Region"],
                )
                self.event_sources.append(source.start())
                self._started.append(source.stop)
            elif kind == "HttpApi":
                self.http_api.routes.append(
                    Route(
                        properties["Method"].upper(),
                        properties["Path"],
                        function,
                        self.template.route_authorizer(declared),
                    )
                )
            elif kind == "DynamoDB":
                self._start_stream_source(spec, properties, function, session)
            elif kind == "Schedule":
                schedule = Schedule(function, self._schedule_seconds).start()
                self.schedules.append(schedule)
                self._started.append(schedule.stop)

    def _start_stream_source(
        self,
        spec: FunctionSpec,
        properties: dict[str, Any],
        function: ExecutionEnvironments,
        session: boto3.Session,
    ) -> None:
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        sqs = session.client("sqs", endpoint_url=endpoint)
        region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
        mapping = StreamMapping.of(
            properties,
            f"arn:aws:lambda:{region}:{account}:function:zns-relay-local-{spec.logical_id}",
            region,
        )
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        destination_url = (
            sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1])["QueueUrl"] if destination else None
        )

        def on_failure(record: dict[str, Any]) -> None:
            if destination_url:
                sqs.send_message(QueueUrl=destination_url, MessageBody=json.dumps(record))

        source = DynamoDBStreamEventSource(
            session.client("dynamodbstreams", endpoint_url=endpoint), mapping, function, on_failure
        ).start()
        self.stream_sources.append(source)
        self._started.append(source.stop)


def _merged(
    base: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Property overrides by logical id: `overrides`' properties over `base`'s."""
    return {
        logical_id: {**base.get(logical_id, {}), **overrides.get(logical_id, {})}
        for logical_id in {**base, **overrides}
    }
