"""Execution environments, measured: `python -m bench.worker <spec.json> <result.json>`.

A child process loads functions (template functions or the baselines of bench/functions.py) with the
environment the spec gives, as a Lambda cold start does, then runs SQS batches through them in turn
and reports what each cost: wall time and process CPU time per batch (every thread of the process:
the batch's send threads included), the bytes it logged and the AWS calls it made, and the process's
peak resident memory. Nothing else runs in this process, so its CPU time is the functions' alone: the
eSMS simulator and moto run in other processes, as eSMS and AWS do.

With "profile", the batches run under a sampling profiler (SamplingProfiler) with the records of a
batch handled one after another, so that the profile sees them in one thread; the spec then measures
where the CPU goes, not how long anything takes.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import boto3

from bench.capacity import CapacityMeter, TableShape
from bench.functions import function_spec
from bench.workload import BATCH_SIZE, callback_event, request_ids, sqs_batch
from local.runtime.lambda_runtime import Handler, context_for, function_output_to, load_handler
from local.runtime.template import FunctionSpec, Template

# Where CPU time goes, by the first module path part that names it (the most specific first).
AREAS = (
    ("aws_lambda_powertools/logging", "Powertools Logger"),
    ("aws_lambda_powertools/metrics", "Powertools Metrics"),
    ("aws_lambda_powertools/utilities/batch", "Powertools batch"),
    ("aws_lambda_powertools/utilities/parameters", "Powertools parameters"),
    ("aws_lambda_powertools", "Powertools other"),
    ("zns_relay/", "zns_relay"),
    ("/functions/", "zns_relay"),
    ("pydantic", "pydantic"),
    ("botocore/", "botocore"),
    ("boto3/", "boto3"),
    ("urllib3/", "urllib3"),
    ("requests/", "requests"),
    ("/json/", "json"),
    ("/logging/", "logging (stdlib)"),
    ("/http/", "http.client"),
    ("socket", "sockets"),
    ("ssl", "sockets"),
    ("/concurrent/", "threads"),
    ("threading", "threads"),
    ("uuid", "uuid, hmac, random"),
    ("hmac", "uuid, hmac, random"),
    ("random", "uuid, hmac, random"),
    ("/email/", "http.client"),
)


# eSMS's reports come seconds after its acceptance, not within the same second: a write that moved the
# reconciler's next look (the waiting-index key check_at) with the time would show it, as in production.
REPORT_DELAY_SECONDS = 1.1


class CountingSink(io.TextIOBase):
    """Where the function's log lines go: counted, not kept."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text.encode("utf-8", "replace"))
        return len(text)


def output_to(sink: CountingSink) -> AbstractContextManager[None]:
    """The functions' log lines and metrics to `sink`; a baseline, which writes nothing, is left as it is
    (redirecting would import Powertools into its process)."""
    if "zns_relay.config.observability" not in sys.modules:
        return nullcontext()
    return function_output_to(sink)  # type: ignore[arg-type]


def area_of(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for part, area in AREAS:
        if part in where:
            return area
    return "other"


class SamplingProfiler:
    """Where the process's CPU time goes: SIGPROF fires as the process uses CPU (every millisecond
    asked, every clock tick in fact: 4 ms on this kernel), and the frame the main thread is in then
    is counted (a C function counts for the Python code that called it). Unlike cProfile it adds
    nothing per call, so code that makes many small calls (botocore) is not overweighted against code
    that makes few (pydantic's and json's C)."""

    INTERVAL = 0.001

    def __init__(self) -> None:
        self.samples: Counter[tuple[str, int, str]] = Counter()
        self.cpu_seconds = 0.0  # the process's CPU time while enabled
        self._enabled_at = 0.0

    def _sample(self, _: int, frame: FrameType | None) -> None:
        if frame is not None:
            self.samples[(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)] += 1

    def enable(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.INTERVAL, self.INTERVAL)
        self._enabled_at = time.process_time()

    def disable(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        self.cpu_seconds += time.process_time() - self._enabled_at

    def summary(self, messages: int, top: int = 12) -> dict[str, Any]:
        """Share of CPU time by area and the functions that spend the most; milliseconds a message."""
        areas: Counter[str] = Counter()
        functions: Counter[str] = Counter()
        for (filename, _, name), count in self.samples.items():
            areas[area_of(filename, name)] += count
            functions[f"{'/'.join(Path(filename).parts[-2:])}({name})"] += count
        total = sum(areas.values()) or 1
        return {
            "total_ms": self.cpu_seconds / messages * 1000,
            "samples": total,
            "areas": {area: count / total for area, count in areas.most_common()},
            "functions": [(name, count / total) for name, count in functions.most_common(top)],
        }


@dataclass
class Loaded:
    definition: FunctionSpec
    handler: Handler
    module: ModuleType
    init: dict[str, float]


def load(functions: dict[str, Any]) -> dict[str, Loaded]:
    """Import each function as a cold start does, with its own environment, timing the init."""
    loaded = {}
    for label, function in functions.items():
        os.environ.update(function["environment"])
        definition = function_spec(function["name"])
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        handler, module = load_handler(definition, function["environment"])
        init = {"wall": time.perf_counter() - started_wall, "cpu": time.process_time() - started_cpu}
        loaded[label] = Loaded(definition, handler, module, init)
    return loaded


def _run_batch(
    label: str, function: Loaded, events: list[dict[str, Any]], profiler: SamplingProfiler | None
) -> dict[str, float]:
    """The wall and CPU time the function takes over these events (profiled, when a profiler is given)."""
    if profiler is not None:
        profiler.enable()
    wall, cpu = time.perf_counter(), time.process_time()
    responses = [function.handler(event, context_for(function.definition)) for event in events]
    batch = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    if profiler is not None:
        profiler.disable()
    if any(response.get("batchItemFailures") for response in responses):
        raise RuntimeError(f"a batch of {label} failed: {responses}")
    return batch


def batches(spec: dict[str, Any]) -> dict[str, Any]:
    """Load each function of the spec, warm each up, then run their batches in turn (one of each,
    again and again), so that whatever else the machine does meanwhile touches them alike. A function
    may take its batch as `invocations` events of `batch_size` records each, one after another."""
    calls: defaultdict[str, Counter[str]] = defaultdict(Counter)  # "": the calls no batch made (init)
    current = [""]
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(  # type: ignore[union-attr]
        "before-call",
        lambda model, **_: calls[current[0]].update([f"{model.service_model.service_name}.{model.name}"]),
    )
    loaded = load(spec["functions"])
    profiler = SamplingProfiler() if spec.get("profile") else None
    if profiler is not None:
        for function in loaded.values():
            _one_thread(function.module)
    shapes = {label: spec["functions"][label] for label in loaded}
    default_size = spec.get("batch_size", BATCH_SIZE)
    sizes = {label: shape.get("batch_size", default_size) for label, shape in shapes.items()}
    invocations = {label: shape.get("invocations", 1) for label, shape in shapes.items()}
    sinks = {label: CountingSink() for label in loaded}
    measured: dict[str, list[dict[str, float]]] = {label: [] for label in loaded}
    for number in range(spec["warmup"] + spec["batches"]):
        if number == spec["warmup"]:
            for label in loaded:
                calls[label].clear()
                sinks[label].chars = 0
        for label, function in loaded.items():
            events = [sqs_batch(spec["queue_arn"], sizes[label]) for _ in range(invocations[label])]
            current[0] = label
            counted = number >= spec["warmup"]
            with output_to(sinks[label]):
                batch = _run_batch(label, function, events, profiler if counted else None)
            if counted:
                measured[label].append(batch)
    messages = {label: spec["batches"] * sizes[label] * invocations[label] for label in loaded}
    return {
        label: {
            "init": function.init,
            "batches": measured[label],
            "log_bytes": sinks[label].chars,
            "calls": dict(calls[label]),
            "messages": messages[label],
            "batch_size": sizes[label],
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "profile": profiler.summary(messages[label]) if profiler is not None else None,
        }
        for label, function in loaded.items()
    }


def happy_path(spec: dict[str, Any]) -> dict[str, Any]:
    """Messages sent by the sender ("sender"), then reported on by eSMS's two callbacks, SendStatus 7
    and 5 ("callback"), with every DynamoDB call metered (bench/capacity.py)."""
    os.environ.update(spec["functions"]["sender"]["environment"])
    # Only now: zns_relay's observability reads its namespace and service from the environment.
    from zns_relay.reports.callback_url import sign  # noqa: PLC0415

    unmetered = boto3.Session()
    reader = unmetered.client("dynamodb")

    def read_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = reader.get_item(TableName=table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    template = Template()
    shapes = {
        spec["tables"][logical_id]: TableShape.from_template(logical_id, template)
        for logical_id in spec["tables"]
    }
    meter = CapacityMeter(shapes, read_item)
    boto3.setup_default_session()
    meter.register(boto3.DEFAULT_SESSION.events)  # type: ignore[union-attr]
    loaded = load(spec["functions"])
    sender, callback = loaded["sender"], loaded["callback"]
    secret = unmetered.client("secretsmanager").get_secret_value(SecretId=os.environ["CALLBACK_SECRET_ID"])
    callback_key = json.loads(secret["SecretString"])["CallbackKey"].encode()
    table = spec["tables"]["MessagesTable"]
    sinks = {"sender": CountingSink(), "callback": CountingSink()}
    callback_times = []
    for _ in range(spec["batches"]):
        event = sqs_batch(spec["queue_arn"])
        with output_to(sinks["sender"]):
            sender.handler(event, context_for(sender.definition))
        time.sleep(REPORT_DELAY_SECONDS)
        for request_id in request_ids(event):
            item = read_item(table, {"request_id": {"S": request_id}}) or {}
            for send_status in spec["send_statuses"]:
                signature = sign(callback_key, request_id, item["callback_nonce"]["S"])
                report = callback_event(request_id, signature, item["sms_id"]["S"], send_status)
                with output_to(sinks["callback"]):
                    wall, cpu = time.perf_counter(), time.process_time()
                    answer = callback.handler(report, context_for(callback.definition))
                    callback_times.append(
                        {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
                    )
                if answer["statusCode"] != 200:
                    raise RuntimeError(f"a callback was refused: {answer}")
    messages = spec["batches"] * BATCH_SIZE
    return {
        "messages": messages,
        "calls": [asdict(units) for units in meter.calls],
        "log_bytes": {label: sink.chars for label, sink in sinks.items()},
        "callbacks": callback_times,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def account_rate(spec: dict[str, Any]) -> dict[str, Any]:
    """`environments` execution environments of the spec's one function, each invoking batches back to
    back from a thread of its own for `seconds` (a backlog that keeps them all busy)."""
    boto3.setup_default_session()
    environments = [load(spec["functions"])["sender"] for _ in range(spec["environments"])]
    deadline = time.monotonic() + spec["seconds"]
    back_to_queue = []

    def invoke_until_deadline(function: Loaded) -> None:
        while time.monotonic() < deadline:
            event = sqs_batch(spec["queue_arn"])
            response = function.handler(event, context_for(function.definition))
            back_to_queue.append(len(response.get("batchItemFailures", [])))

    threads = [threading.Thread(target=invoke_until_deadline, args=(function,)) for function in environments]
    with output_to(CountingSink()):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {"invocations": len(back_to_queue), "back_to_queue": sum(back_to_queue)}


def _one_thread(module: Any) -> None:
    """Handle a batch's records one after another in the main thread (where the profiler looks)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType  # noqa: PLC0415

    if hasattr(module, "processor"):
        module.processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    else:  # the baseline's pool
        module._sender()["pool"] = _InThread()


class _InThread:
    @staticmethod
    def map(function: Any, items: Any) -> Any:
        return map(function, items)


MODES = {"batches": batches, "happy_path": happy_path, "account_rate": account_rate}

if __name__ == "__main__":
    spec_path, result_path = sys.argv[1:3]
    spec = json.loads(Path(spec_path).read_text())
    Path(result_path).write_text(json.dumps(MODES[spec["mode"]](spec)))
