"""Load a function's handler the way Lambda does (code dir + layers on the path) and give it a context."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

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
    """Lambda's scaling, played locally: each concurrent invocation gets an environment of its own.

    A Lambda execution environment runs one invocation at a time, so handlers keep per-invocation
    state at module level (Powertools' batch processor and resolver do). Concurrent local
    invocations therefore each borrow a separately imported copy of the function, created on
    demand (a cold start) and reused afterwards (warm starts).
    """

    _import_lock = threading.Lock()  # imports set os.environ: one at a time

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str]) -> None:
        self.spec = spec
        self.environment = dict(environment)
        self._idle: list[Handler] = []
        self._lock = threading.Lock()

    def acquire(self) -> Handler:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        with self._import_lock:
            handler, _ = load_handler(self.spec, self.environment)
        return handler

    def release(self, handler: Handler) -> None:
        with self._lock:
            self._idle.append(handler)

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = self.acquire()
        try:
            return handler(event, context_for(self.spec))
        finally:
            self.release(handler)
