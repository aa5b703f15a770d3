"""Lambda's execution environments, played locally; and, for in-process tests, a handler and its context.

Each environment is a process of its own that loads the function's handler once (a cold start) and runs
one invocation at a time, reused while it lives (warm starts), exactly as on Lambda:
- an environment that dies (killed, exited, crashed) fails the invocation it was running with Lambda's
  Runtime.ExitError; it is discarded, and a new one starts when one is next needed; the others run on;
- an invocation still running at the function's Timeout is stopped: its environment is killed and the
  invocation fails with Lambda's "Task timed out after N seconds";
- every line an environment writes, stdout and stderr, reaches the function output as it is written
  (so a killed environment's last lines are there), saying which environment wrote it;
- the root logger has the handler Lambda's Python runtime gives it before it imports the function,
  at the level AWS_LAMBDA_LOG_LEVEL names (the function's ApplicationLogLevel), as text or as JSON
  (AWS_LAMBDA_LOG_FORMAT).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import IO, Any, TextIO

from local.runtime.template import PSEUDO_PARAMETERS, ROOT, FunctionSpec
from local.scenarios.crashes import CrashPlan, install_crash_hooks

Handler = Callable[[dict[str, Any], Any], Any]

ENVIRONMENT_FIELD = "execution_environment"  # the field naming the environment in a JSON log line
# Lambda gives an init 10 s; a loaded test machine importing boto3, Powertools and pydantic needs more.
INIT_TIMEOUT_SECONDS = 60
# How long invoke() waits for an invocation's last log lines to be copied before it returns anyway.
LOG_DRAIN_SECONDS = 5
# Written by an environment after each invocation's output; never copied to the function output.
_END_OF_INVOCATION = "\x1eend-of-invocation:"
_ENVIRONMENT_MAIN = f"import sys; from {__name__} import serve_environment as serve; serve(int(sys.argv[1]))"
# How Lambda (in Go's words) names the signal that ended a runtime.
_SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
}


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


def context_for(spec: FunctionSpec, request_id: str | None = None) -> LambdaContext:
    context = LambdaContext(
        function_name=f"zns-relay-local-{spec.logical_id}",
        timeout_seconds=spec.timeout_seconds,
        memory_limit_in_mb=spec.memory_mb,
    )
    if request_id is not None:
        context.aws_request_id = request_id
    return context


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


class InvocationError(Exception):
    """An invocation that failed, as Lambda reports it: an error type and an error message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.error_message = message


class FunctionError(InvocationError):
    """The handler raised, or returned what cannot be serialised; its environment lives on."""


class RuntimeExited(InvocationError):
    """The environment's process died during the invocation (Runtime.ExitError)."""


class FunctionTimedOut(InvocationError):
    """The invocation ran into the function's Timeout and was stopped (Sandbox.Timedout)."""


class InitError(InvocationError):
    """An environment could not start: its handler module failed to import."""


@dataclass(frozen=True)
class InvocationTimes:
    """Where one invocation's time went (seconds), for a benchmark to tell the handler from the stack."""

    waited: float  # for an environment free to run it (a cold start included)
    handler: float  # the handler's own run, timed inside the environment
    handler_cpu: float  # the environment's CPU time during that run
    total: float  # invoke() from call to return: the wait, the dispatch, the handler, its log lines


class ExecutionEnvironments:
    """Lambda's scaling, played locally: each concurrent invocation runs in an execution environment
    of its own, a separate process, created on demand (a cold start) and reused (warm starts).

    As on Lambda, an environment runs one invocation at a time and shares nothing with the others:
    the module-level state handlers keep (Powertools' batch processor, its resolver's current event,
    its Logger and Metrics) is never seen by a concurrent invocation. At most `max_environments`
    invocations run at once; more wait for one to finish. `on_invoked`, when given, hears the timings of
    each invocation that returned a result (bench/callbacks.py).
    """

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        max_environments: int,
        output: Path | None = None,
        crashes: CrashPlan | None = None,
        *,
        on_invoked: Callable[[InvocationTimes], None] | None = None,
    ) -> None:
        self.spec = spec
        self._on_invoked = on_invoked
        self.environment = dict(environment)
        self._output = FunctionOutput(output)
        self._crashes = crashes
        self._capacity = threading.BoundedSemaphore(max_environments)
        self._lock = threading.Lock()
        self._idle: list[_Environment] = []
        self._busy: set[_Environment] = set()
        self._started = 0
        self._closed = False

    def warm_up(self) -> None:
        """Start one environment now, so that a function that cannot even import fails at once."""
        with self._capacity:
            self._release(self._acquire())

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one invocation; raises an InvocationError when it fails as a Lambda invocation can."""
        called = time.perf_counter()
        with self._capacity:
            environment = self._acquire()
            waited = time.perf_counter() - called
            try:
                result, handler, handler_cpu = environment.invoke(
                    str(uuid.uuid4()), event, self.spec.timeout_seconds
                )
            finally:
                self._release(environment)
        if self._on_invoked is not None:
            self._on_invoked(InvocationTimes(waited, handler, handler_cpu, time.perf_counter() - called))
        return result

    def close(self) -> None:
        """Stop every environment (one still running an invocation fails it) and the log copying."""
        with self._lock:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
        for environment in busy:
            environment.kill()  # its invocation fails; releasing it then stops it
        for environment in idle:
            environment.stop()
        self._output.close()

    def _acquire(self) -> _Environment:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.spec.logical_id}'s environments are closed")
            while self._idle:
                environment = self._idle.pop()
                if environment.alive:
                    self._busy.add(environment)
                    return environment
                environment.stop()  # died while idle: Lambda would never route to it
            self._started += 1
            name = f"{self.spec.logical_id}#{self._started}"
        environment = _Environment(name, self._output)
        environment.start(self.spec, self.environment, self._crashes)
        with self._lock:
            self._busy.add(environment)
        return environment

    def _release(self, environment: _Environment) -> None:
        with self._lock:
            self._busy.discard(environment)
            if environment.alive and not self._closed:
                self._idle.append(environment)
                return
        environment.stop()


class FunctionOutput:
    """Where a function's environments write (their stdout and stderr alike): a file, or else this
    process's stderr, so that a command's own stdout stays its own (`python -m local up | jq`).

    Each line is written whole and flushed at once, so lines from several environments never mix.
    """

    def __init__(self, path: Path | None) -> None:
        self._file = path.open("a", encoding="utf-8") if path is not None else None
        self._lock = threading.Lock()
        self._closed = False

    def write(self, line: str) -> None:
        with self._lock:
            if self._closed:
                return
            target = self._file or sys.stderr
            target.write(line + "\n")
            target.flush()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()


def tagged(line: str, environment: str) -> str:
    """A line as the function output shows it: a JSON object gains an "execution_environment" field
    (still one parseable object, its other fields untouched); any other line gets an `[environment] ` prefix.
    """
    text = line.strip()
    if text.startswith("{") and text.endswith("}") and text != "{}":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return f"{{{json.dumps(ENVIRONMENT_FIELD)}:{json.dumps(environment)},{text[1:]}"
    return f"[{environment}] {line}"


class _Environment:
    """One execution environment, seen from the stack: its process, its control connection, its logs."""

    def __init__(self, name: str, output: FunctionOutput) -> None:
        self.name = name
        self._output = output
        self._invocations = 0
        parent_end, child_end = socket.socketpair()
        python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, running our own module
            [sys.executable, "-u", "-c", _ENVIRONMENT_MAIN, str(child_end.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(child_end.fileno(),),
            env={**os.environ, "PYTHONPATH": python_path},
        )
        child_end.close()
        self._connection = Connection(parent_end.detach())
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._logs = [
            _LogCopier(self._process.stdout, name, output, "stdout"),
            _LogCopier(self._process.stderr, name, output, "stderr"),
        ]
        for copier in self._logs:
            copier.start()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def start(self, spec: FunctionSpec, environment: Mapping[str, str], crashes: CrashPlan | None) -> None:
        """The cold start: load the handler (crash hooks first, when a plan is given)."""
        crash_root = str(crashes.root) if crashes is not None else None
        try:
            self._connection.send(("init", spec, dict(environment), self.name, crash_root))
            ready = self._connection.poll(INIT_TIMEOUT_SECONDS)
            reply = (
                self._connection.recv() if ready else ("init_error", "Runtime.InitTimeout", "init timed out")
            )
        except (EOFError, OSError):
            reply = ("init_error", "Runtime.ExitError", self._exit_detail())
        if reply[0] != "ready":
            self.stop()
            raise InitError(reply[1], f"{self.name} could not start: {reply[2]}")

    def invoke(
        self, request_id: str, event: dict[str, Any], timeout_seconds: int
    ) -> tuple[Any, float, float]:
        """The invocation's result, with the handler's own wall and CPU seconds."""
        self._invocations += 1
        try:
            self._connection.send(("invoke", request_id, event))
            finished = self._connection.poll(timeout_seconds)
            reply = self._connection.recv() if finished else None
        except (EOFError, OSError):
            raise self._exited(request_id) from None
        if reply is None:
            raise self._timed_out(request_id, timeout_seconds)
        for copier in self._logs:
            copier.wait_for_end_of(self._invocations, LOG_DRAIN_SECONDS)
        outcome, handler_seconds, handler_cpu_seconds = reply
        if outcome[0] == "result":
            return json.loads(outcome[1]), handler_seconds, handler_cpu_seconds
        raise FunctionError(outcome[1], outcome[2])

    def stop(self) -> None:
        """Close the connection (an idle environment then exits), kill what is left, copy the last lines."""
        self._connection.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for copier in self._logs:
            copier.join(LOG_DRAIN_SECONDS)

    def kill(self) -> None:
        self._process.kill()

    def _exited(self, request_id: str) -> RuntimeExited:
        self._process.wait()
        for copier in self._logs:
            copier.join(LOG_DRAIN_SECONDS)  # its last lines are out before the caller hears of it
        message = f"RequestId: {request_id} Error: Runtime exited with error: {self._exit_detail()}"
        self._platform_line(f"{message}\nRuntime.ExitError")
        return RuntimeExited("Runtime.ExitError", message)

    def _timed_out(self, request_id: str, timeout_seconds: int) -> FunctionTimedOut:
        self.kill()
        self._process.wait()
        for copier in self._logs:
            copier.join(LOG_DRAIN_SECONDS)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message = f"{now} {request_id} Task timed out after {timeout_seconds:.2f} seconds"
        self._platform_line(message)
        return FunctionTimedOut("Sandbox.Timedout", message)

    def _exit_detail(self) -> str:
        code = self._process.wait()
        if code < 0:
            return f"signal: {_SIGNAL_NAMES.get(signal.Signals(-code), signal.Signals(-code).name)}"
        return f"exit status {code}"

    def _platform_line(self, text: str) -> None:
        """A line Lambda itself adds to the function's log."""
        for line in text.splitlines():
            self._output.write(tagged(line, self.name))


class _LogCopier(threading.Thread):
    """Copies one of an environment's pipes to the function output, a line at a time as it comes."""

    def __init__(self, pipe: IO[bytes], environment: str, output: FunctionOutput, stream: str) -> None:
        super().__init__(name=f"logs-{environment}-{stream}", daemon=True)
        self._pipe = pipe
        self._environment = environment
        self._output = output
        self._progress = threading.Condition()
        self._invocations_ended = 0
        self._pipe_ended = False

    def run(self) -> None:
        for raw in iter(self._pipe.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            text, marker, number = line.partition(_END_OF_INVOCATION)
            if text or not marker:
                self._output.write(tagged(text, self._environment))
            if marker:
                with self._progress:
                    self._invocations_ended = int(number)
                    self._progress.notify_all()
        self._pipe.close()
        with self._progress:
            self._pipe_ended = True
            self._progress.notify_all()

    def wait_for_end_of(self, invocation: int, timeout: float) -> None:
        """Until this pipe's lines of that invocation are copied (or the pipe ended, or the timeout)."""
        with self._progress:
            self._progress.wait_for(
                lambda: self._invocations_ended >= invocation or self._pipe_ended, timeout
            )


class _RequestIdFilter(logging.Filter):
    """Gives each record the invocation's request id, as Lambda's runtime does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _LambdaJsonFormatter(logging.Formatter):
    """The fields of Lambda's JSON application logs."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", ""),
        }
        if record.exc_info:
            line["errorType"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            line["stackTrace"] = traceback.format_exception(*record.exc_info)
        return json.dumps(line, default=str)


def setup_root_logging() -> _RequestIdFilter:
    """The root logger as Lambda's Python runtime (awslambdaric's bootstrap._setup_logging) leaves it
    before importing the function: one handler writing to stdout, text unless AWS_LAMBDA_LOG_FORMAT is
    JSON, and the level AWS_LAMBDA_LOG_LEVEL names, when it names one. The filter returned takes each
    invocation's request id."""
    request_ids = _RequestIdFilter()
    handler = logging.StreamHandler(sys.stdout)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        handler.setFormatter(_LambdaJsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    handler.addFilter(request_ids)
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    root.addHandler(handler)
    return request_ids


def serve_environment(connection_fd: int) -> None:
    """An environment process's life: a cold start, then one invocation at a time, until the stack
    closes the connection."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the stack, which then stops us
    connection = Connection(connection_fd)
    _, spec, environment, name, crash_root = connection.recv()
    try:
        os.environ.update(environment)  # before the hooks: boto3's default session reads it
        request_ids = setup_root_logging()
        if crash_root is not None:
            install_crash_hooks(CrashPlan(Path(crash_root)), name)
        handler, _ = load_handler(spec, environment)
    except Exception as error:
        _log_error(error)
        connection.send(("init_error", type(error).__name__, str(error)))
        return
    connection.send(("ready",))
    invocations = 0
    while True:
        try:
            _, request_id, event = connection.recv()
        except EOFError:
            return
        request_ids.request_id = request_id
        started, started_cpu = time.perf_counter(), time.process_time()
        outcome = _run(handler, spec, request_id, event)
        took, took_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        invocations += 1
        for stream in (sys.stdout, sys.stderr):
            stream.write(f"{_END_OF_INVOCATION}{invocations}\n")
            stream.flush()
        connection.send((outcome, took, took_cpu))


def _run(handler: Handler, spec: FunctionSpec, request_id: str, event: dict[str, Any]) -> tuple[str, ...]:
    try:
        result = handler(event, context_for(spec, request_id))
    except Exception as error:
        _log_error(error)
        return ("error", type(error).__name__, str(error))
    try:
        return ("result", json.dumps(result))
    except (TypeError, ValueError) as error:
        return ("error", "Runtime.MarshalError", f"Unable to marshal response: {error}")


def _log_error(error: Exception) -> None:
    """As Lambda's Python runtime does: the error and its traceback in the function's log."""
    trace = "".join(traceback.format_tb(error.__traceback__))
    sys.stderr.write(f"[ERROR] {type(error).__name__}: {error}\nTraceback (most recent call last):\n{trace}")
    sys.stderr.flush()


@contextmanager
def function_output_to(stream: TextIO) -> Iterator[None]:
    """Send an in-process function's log lines and metrics (Powertools writes both to stdout) to `stream`."""
    from zns_relay.config.observability import logger  # noqa: PLC0415 - the layer is on the path only now

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
