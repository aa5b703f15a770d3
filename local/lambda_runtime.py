"""Load a function's handler the way Lambda does (code dir + layers on the path) and give it a context."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from local.template import PSEUDO_PARAMETERS, FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
        return f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def context_for(spec: FunctionSpec) -> LambdaContext:
    return LambdaContext(
        function_name=f"zns-relay-local-{spec.logical_id}",
        timeout_seconds=spec.timeout_seconds,
        memory_limit_in_mb=spec.memory_mb,
    )


def load_handler(spec: FunctionSpec, environment: Mapping[str, str]) -> tuple[Handler, ModuleType]:
    """Import the function's module afresh with its environment set, as a cold start would.

    The environment is applied to this process (handlers read it at import); the module is loaded
    under a unique name so each call gets its own module-level clients and settings.
    """
    os.environ.update(environment)
    for layer_dir in spec.layer_dirs:
        if str(layer_dir) not in sys.path:
            sys.path.insert(0, str(layer_dir))
    path = spec.code_dir / f"{spec.module}.py"
    module_name = f"_lambda_{spec.logical_id}_{uuid.uuid4().hex[:8]}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    handler: Handler = getattr(module, spec.handler)
    return handler, module


class ExecutionEnvironments:
    """Lambda's scaling, played locally: each concurrent invocation runs in an execution environment
    of its own, a separate process, created on demand (a cold start) and reused (warm starts).

    As on Lambda, an environment runs one invocation at a time and shares nothing with the others:
    the module-level state handlers keep (Powertools' batch processor, its resolver's current event,
    its Logger and Metrics) is never seen by a concurrent invocation.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        max_environments: int,
        output: Path | None = None,
    ) -> None:
        self.spec = spec
        self.environment = dict(environment)
        self._pool = ProcessPoolExecutor(
            max_workers=max_environments,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_cold_start,
            initargs=(spec, self.environment, str(output) if output else None),
        )

    def warm_up(self) -> None:
        """Start one environment now, so that a function that cannot even import fails at once."""
        self._pool.submit(_is_warm).result()

    def invoke(self, event: dict[str, Any]) -> Any:
        return self._pool.submit(_invoke, event).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# Inside an environment's process only: its function, loaded once by _cold_start.
_environment: tuple[FunctionSpec, Handler] | None = None


def _cold_start(spec: FunctionSpec, environment: Mapping[str, str], output: str | None) -> None:
    global _environment  # noqa: PLW0603 - one per process, set once before any invocation
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the stack, which then stops us
    if output is not None:
        sys.stdout = open(output, "a", buffering=1)  # noqa: SIM115 - the process's stdout until it ends
    handler, _ = load_handler(spec, environment)
    _environment = (spec, handler)


def _is_warm() -> bool:
    return _environment is not None


def _invoke(event: dict[str, Any]) -> Any:
    assert _environment is not None, "the environment did not start"
    spec, handler = _environment
    return handler(event, context_for(spec))


@contextmanager
def function_output_to(stream: TextIO) -> Iterator[None]:
    """Send an in-process function's log lines and metrics (Powertools writes both to stdout) to `stream`."""
    from zns_relay.observability import logger  # noqa: PLC0415 - the layer is on the path only now

    handler = logger.registered_handler
    previous_stream = getattr(handler, "stream", None)
    previous_stdout = sys.stdout
    if hasattr(handler, "setStream"):
        handler.setStream(stream)
    sys.stdout = stream
    try:
        yield
    finally:
        sys.stdout = previous_stdout
        if previous_stream is not None and hasattr(handler, "setStream"):
            handler.setStream(previous_stream)
