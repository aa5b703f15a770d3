"""What the measured functions talk to, each in a process of its own as on AWS: moto in server mode
(SQS, DynamoDB, Secrets Manager, provisioned from template.yaml) and the eSMS simulator; and the
worker processes that play the functions' execution environments (bench/worker.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench.functions import function_spec
from local.aws.resources import function_environment, provision
from local.aws.server import MotoServer
from local.esms_sim import EsmsSimulator, SimulatorConfig
from local.runtime.template import PSEUDO_PARAMETERS, Resolver, Template
from local.stack import FAKE_CREDENTIALS, LOCAL_PARAMETERS

ROOT = Path(__file__).resolve().parent.parent
Function = tuple[str, Mapping[str, str]]  # a function's name (bench/functions.py) and its overrides
# As the local stack runs the functions: no X-Ray daemon; a send rate far above what a benchmark
# sends, so that what is measured is the function, not the pacing under an account's TPS limit (the
# benches of the pacing itself set AT_DEFAULTS back).
BENCH_OVERRIDES = {"POWERTOOLS_TRACE_DISABLED": "true", "ESMS_RATE_LIMIT": "1000"}
AT_DEFAULTS = {"ESMS_RATE_LIMIT": Template().parameter_defaults()["EsmsRateLimit"]}


@dataclass
class Backends:
    endpoint: str
    resolver: Resolver
    simulator: EsmsSimulator
    template: Template
    moto_pid: int | None

    @property
    def queue_arn(self) -> str:
        return self.resolver.get_att("SendQueue", "Arn")

    @property
    def table(self) -> str:
        return self.resolver.ref("MessagesTable")

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=PSEUDO_PARAMETERS["AWS::Region"],
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def environment(self, function: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """A function's environment as Lambda gives it, pointing at these backends."""
        spec = function_spec(function, self.template)
        return {
            **FAKE_CREDENTIALS,
            **function_environment(
                spec,
                self.resolver,
                {
                    **BENCH_OVERRIDES,
                    "AWS_ENDPOINT_URL": self.endpoint,
                    "ESMS_BASE_URL": self.simulator.url,
                    "ESMS_STATUS_URL": self.simulator.status_url,
                    "CALLBACK_BASE_URL": "https://callbacks.invalid/callbacks/esms",
                    **(overrides or {}),
                },
            ),
        }

    def run_worker(
        self,
        mode: str,
        functions: Mapping[str, Function],
        shapes: Mapping[str, Mapping[str, int]] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Run `functions` (label: (name, environment overrides)) in one fresh worker process
        (bench/worker.py, `mode`: "batches", "happy_path" or "account_rate"), some labels' events
        shaped by `shapes` (label: {"batch_size": n, "invocations": n}); its measurements."""
        spec = {
            "mode": mode,
            "functions": {
                label: {
                    "name": name,
                    "environment": self.environment(name, overrides),
                    **(shapes or {}).get(label, {}),
                }
                for label, (name, overrides) in functions.items()
            },
            "queue_arn": self.queue_arn,
            "tables": {
                logical_id: self.resolver.ref(logical_id) for logical_id in ("MessagesTable", "ThrottleTable")
            },
            "warmup": 1,
            **options,
        }
        return run_worker(spec)


def run_worker(spec: Mapping[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="zns-bench-") as scratch:
        spec_path, result_path = Path(scratch, "spec.json"), Path(scratch, "result.json")
        spec_path.write_text(json.dumps(spec))
        subprocess.run(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "bench.worker", str(spec_path), str(result_path)],
            check=True,
            cwd=ROOT,
        )
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


@contextmanager
def backends(config: SimulatorConfig | None = None) -> Iterator[Backends]:
    """moto in server mode with the template's resources, and the eSMS simulator; stopped after."""
    moto = MotoServer().start()
    try:
        endpoint = f"http://127.0.0.1:{moto.port}"
        session = boto3.Session(
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name=PSEUDO_PARAMETERS["AWS::Region"],
        )
        template = Template()
        resolver = provision(template, session, endpoint_url=endpoint, parameters=LOCAL_PARAMETERS)
        with EsmsSimulator(config=config or SimulatorConfig(callback_delay_seconds=3600)) as simulator:
            yield Backends(endpoint, resolver, simulator, template, moto.pid)
    finally:
        moto.stop()
