"""Callbacks at a fixed offered load: eSMS's delivery callbacks through the local HTTP API into
CallbackFunction's execution environments, DynamoDB on the moto server, `RATE` requests a second.

Messages wait in ACCEPTED (written by the store, as the sender leaves them); an open-loop caller in a
process of its own (bench/open_loop.py, wrk2's model) then calls back as eSMS does, a SendStatus 7 and
a SendStatus 5 report for each message, each on a connection of its own, one every 1/RATE seconds
whatever the answers' pace, each latency counted from its planned start. The first WARMUP_SECONDS are
not counted. The same route served by the hand-written baseline (one conditional UpdateItem a callback)
is measured the same way, just before.

Beside the callers' latency, where it went: the local runtime's timings of each invocation (the wait for
a free environment, the handler's own run inside its environment) and each process's CPU time a
callback (/proc): the caller, this process (the HTTP API and the runtime's dispatch), the environments,
the moto server. At RATE a second, the machine's cores give each callback at most cores / RATE of CPU;
what all processes together spend against that says whether the machine can serve the rate at all.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.backends import ROOT, Backends
from bench.functions import function_spec
from bench.memory import cpu_seconds
from local.aws.resources import LOCAL_CALLBACK_KEY
from local.runtime.http_api import HttpApiServer, Route
from local.runtime.lambda_runtime import ExecutionEnvironments, InvocationTimes
from local.stack import HTTP_ENVIRONMENTS
from zns_relay.models.state import MessageStatus
from zns_relay.reports.callback_url import sign
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import ClaimedMessage

RATE = 200.0  # callbacks a second, offered whatever the answers' pace
SECONDS = 8.0
WARMUP_SECONDS = 1.0  # the first callbacks, not counted (connection pools, first calls' lazy loading)
CALLERS = 64  # the caller's concurrent requests: a request planned while all are busy waits, counted
P99_GOAL_MS = 50.0
BUSY_LIMIT = 0.7  # a server busier than this queues its requests: a p99 of many service times
ROUTE_PATH = "/callbacks/esms/{request_id}/{signature}"
HEADERS = {"Connection": "close", "User-Agent": "eSMS-Callback/1.0"}


@dataclass(frozen=True)
class Percentiles:
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
        cuts = statistics.quantiles([value * 1000 for value in seconds], n=100, method="inclusive")
        return cls(cuts[49], cuts[94], cuts[98])

    def describe(self) -> str:
        return f"p50 {self.p50_ms:.1f}, p95 {self.p95_ms:.1f}, p99 {self.p99_ms:.1f} ms"


@dataclass(frozen=True)
class OfferedLoad:
    """One function's callbacks at RATE: what the caller saw, where it went, the CPU it took."""

    offered_per_second: float
    answered_per_second: float
    callbacks: int
    errors: int
    latency: Percentiles  # the caller's, from each request's planned start
    service: Percentiles  # the caller's, from the moment it actually sent the request
    invocation: Percentiles  # the runtime's invoke(): wait, dispatch, handler, its log lines
    waited: Percentiles  # for a free execution environment
    handler: Percentiles  # the handler's own run, inside its environment
    cpu_ms: dict[str, float]  # CPU a callback, by process: caller, stack, environments, moto
    other_cores: float  # the cores other work kept busy meanwhile (the machine's CPU time, less the path's)

    @property
    def cpu_total_ms(self) -> float:
        return sum(self.cpu_ms.values())

    @property
    def cores_busy(self) -> float:
        """The cores the whole path keeps busy at the offered rate."""
        return self.cpu_total_ms * self.offered_per_second / 1000

    @property
    def moto_ceiling_per_second(self) -> float:
        """The most callbacks a second the moto server can serve: one interpreter, so one core at most."""
        return 1000 / self.cpu_ms["moto"]

    @property
    def met(self) -> bool:
        return self.errors == 0 and self.latency.p99_ms < P99_GOAL_MS

    def breakdown(self) -> str:
        cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in self.cpu_ms.items())
        return (
            f"answered {self.answered_per_second:.0f}/s, {self.errors} errors of {self.callbacks};"
            f" p95 {self.latency.p95_ms:.0f} ms; from the actual send p99 {self.service.p99_ms:.0f}; the"
            f" runtime's invoke p99 {self.invocation.p99_ms:.0f}, its wait for an environment p99"
            f" {self.waited.p99_ms:.0f}; the handler's own run p50 {self.handler.p50_ms:.0f}, p99"
            f" {self.handler.p99_ms:.0f} ms. CPU a callback {self.cpu_total_ms:.1f} ms ({cpu})"
        )

    def in_the_way(self, cores: int) -> list[str]:
        """What the measurements say stands between this run and the goal (empty when it is met)."""
        if self.met:
            return []
        found = []
        moto_busy = self.offered_per_second / self.moto_ceiling_per_second
        if moto_busy > BUSY_LIMIT:
            found.append(
                f"moto: {self.cpu_ms['moto']:.1f} ms of its CPU a callback, in one interpreter (one core"
                f" at most), so at most {self.moto_ceiling_per_second:.0f} callbacks a second; at"
                f" {self.offered_per_second:.0f}/s it would be {moto_busy * 100:.0f}% busy"
            )
        if self.cores_busy > BUSY_LIMIT * cores:
            found.append(
                f"the machine: the whole path takes {self.cpu_total_ms:.1f} ms of CPU a callback,"
                f" {self.cores_busy:.1f} of its {cores} cores at {self.offered_per_second:.0f}/s"
            )
        if self.other_cores > 1 - BUSY_LIMIT:
            found.append(f"other work: it kept {self.other_cores:.1f} of the {cores} cores busy meanwhile")
        if self.waited.p99_ms > P99_GOAL_MS:
            found.append(
                f"queueing: callbacks wait for one of {HTTP_ENVIRONMENTS} environments (p99"
                f" {self.waited.p99_ms:.0f} ms), each busy {self.handler.p50_ms:.0f} ms a callback (p50),"
                " most of it waiting for moto's answer"
            )
        elif self.handler.p99_ms > P99_GOAL_MS:
            found.append(f"the handler's own run: p99 {self.handler.p99_ms:.0f} ms")
        return found


def accepted_messages(backends: Backends, count: int) -> list[tuple[str, str, str]]:
    """`count` messages the sender has just had accepted: (RequestId, SMSID, callback nonce)."""
    store = MessageStore(backends.table, backends.client("dynamodb"))
    now = int(time.time())
    messages = []
    for _ in range(count):
        request_id, sms_id = f"callback-{uuid.uuid4().hex}", uuid.uuid4().hex
        claim = store.claim(
            request_id, {"phone": "0901888484", "temp_id": "2056446"}, 60, check_at=now + 3600
        )
        assert isinstance(claim, ClaimedMessage)
        store.transition(
            request_id,
            MessageStatus.ACCEPTED,
            "accepted by eSMS",
            {"sms_id": sms_id, "esms_code": "100"},
            claim=claim,
            check_at=now + 1800,
        )
        messages.append((request_id, sms_id, claim.callback_nonce))
    return messages


def callback_paths(messages: list[tuple[str, str, str]]) -> list[str]:
    """Every message's SendStatus 7 report, then every message's 5 (a message's two are far apart)."""
    key = LOCAL_CALLBACK_KEY.encode()
    paths = []
    for status in (7, 5):
        for request_id, sms_id, nonce in messages:
            query = urlencode(
                {"SMSID": sms_id, "SendStatus": status, "SendSuccess": int(status == 5), "TypeId": 25}
            )
            paths.append(f"/callbacks/esms/{request_id}/{sign(key, request_id, nonce)}?{query}")
    return paths


@contextmanager
def serving(
    backends: Backends, function: str, invocations: list[InvocationTimes]
) -> Iterator[tuple[int, ExecutionEnvironments]]:
    """The template's callback route on a local HTTP API, served by `function`, each invocation's
    timings appended to `invocations`; yields its port and the function's environments."""
    environments = ExecutionEnvironments(
        function_spec(function, backends.template),
        backends.environment(function),
        HTTP_ENVIRONMENTS,
        output=Path(os.devnull),
        on_invoked=invocations.append,
    )
    api = HttpApiServer()
    api.routes.append(Route("GET", ROUTE_PATH, environments))
    try:
        starting = [threading.Thread(target=environments.warm_up) for _ in range(HTTP_ENVIRONMENTS)]
        for thread in starting:  # every environment cold-started before the clock starts
            thread.start()
        for thread in starting:
            thread.join()
        api.start()
        yield api.port, environments
    finally:
        api.stop()
        environments.close()


def environment_pids() -> list[int]:
    """This process's children that are execution environments (local.runtime.lambda_runtime)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == os.getpid() and b"serve_environment" in command:
            pids.append(int(entry.name))
    return pids


def drive(port: int, paths: list[str]) -> list[list[float]]:
    """The open-loop caller's [planned, sent, answered, status] for each of `paths` at RATE."""
    spec = {
        "port": port,
        "rate": RATE,
        "paths": paths,
        "callers": CALLERS,
        "headers": HEADERS,
        "max_seconds": SECONDS + WARMUP_SECONDS + 5,
    }
    caller = subprocess.Popen(
        [sys.executable, "-m", "bench.open_loop"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    output, _ = caller.communicate(json.dumps(spec))
    answers: list[list[float]] = json.loads(output)
    return answers


def measure_one(backends: Backends, function: str) -> OfferedLoad:
    count = int(RATE * (SECONDS + WARMUP_SECONDS))
    paths = callback_paths(accepted_messages(backends, (count + 1) // 2))[:count]
    invocations: list[InvocationTimes] = []
    with serving(backends, function, invocations) as (port, _):
        environments = environment_pids()
        processes: list[int | None] = [os.getpid(), *environments, backends.moto_pid]
        before = [cpu_seconds(pid) or 0.0 for pid in processes]
        caller_before, machine_before, started = _children_cpu(), _machine_cpu(), time.perf_counter()
        answers = drive(port, paths)
        caller_cpu = _children_cpu() - caller_before
        after = [cpu_seconds(pid) or 0.0 for pid in processes]
        machine_cpu, elapsed = _machine_cpu() - machine_before, time.perf_counter() - started
    used = [end - start for start, end in zip(before, after, strict=True)]
    counted = [answer for answer in answers if answer[0] >= WARMUP_SECONDS]
    measured = len(counted)
    warmup_invocations = len(answers) - measured
    timed = invocations[warmup_invocations:]
    answered = [answer for answer in counted if answer[3]]
    span = max(answer[2] for answer in answered) - min(answer[0] for answer in counted)
    return OfferedLoad(
        offered_per_second=RATE,
        answered_per_second=len(answered) / span,
        callbacks=measured,
        errors=sum(1 for answer in counted if answer[3] != 200),
        latency=Percentiles.of([answer[2] - answer[0] for answer in answered]),
        service=Percentiles.of([answer[2] - answer[1] for answer in answered]),
        invocation=Percentiles.of([times.total for times in timed]),
        waited=Percentiles.of([times.waited for times in timed]),
        handler=Percentiles.of([times.handler for times in timed]),
        cpu_ms={
            "caller": caller_cpu / len(answers) * 1000,
            "HTTP API and runtime": used[0] / len(answers) * 1000,
            "environments": sum(used[1:-1]) / len(answers) * 1000,
            "moto": used[-1] / len(answers) * 1000,
        },
        other_cores=max(machine_cpu - caller_cpu - sum(used), 0.0) / elapsed,
    )


def _machine_cpu() -> float:
    """CPU seconds all the machine's cores have spent busy so far (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]  # idle and waiting for I/O
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    usage = os.times()
    return usage.children_user + usage.children_system


def measure(backends: Backends) -> dict[str, OfferedLoad]:
    return {
        "baseline": measure_one(backends, "MinimalCallback"),
        "callback": measure_one(backends, "CallbackFunction"),
    }


def main() -> int:
    """`python -m bench.callbacks`: this figure alone, its own moto server and simulator."""
    from bench.backends import backends  # noqa: PLC0415

    with backends() as stack:
        for name, result in measure(stack).items():
            print(f"{name}: {result.breakdown()}")
            for reason in result.in_the_way(os.cpu_count() or 1):
                print(f"  in the way: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
