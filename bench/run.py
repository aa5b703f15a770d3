"""`make bench`: every figure of issue 12 against its baseline, in one run, one table, results.json.

The functions run in worker processes of their own (bench/worker.py) against moto in server mode and
the eSMS simulator, each in its own process too. CPU-time figures hold up on a busy machine; wall-time
figures (batch speedup, callback throughput) move with the load, which the table's header reports.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from bench import account_rate, batch_speedup, callbacks, capacity, cold_init, cost, cpu, memory
from bench.backends import ROOT, Backends, backends
from bench.report import RESULTS, Row, render, write_results
from local.runtime.template import Template
from local.stack import HTTP_ENVIRONMENTS

SPEEDUP_GOAL = 7.0  # at 100 ms
RATE_GOAL = 0.9  # of the account's TPS limit
THROTTLED_GOAL = 0.01  # of the sends answered 160
CPU_GOAL = 1.3
INIT_GOAL = 1.3
COST_GOAL = 10.0  # dollars per million messages (issue 18)
WRITE_UNITS_GOAL = 8.0  # DynamoDB write units per delivered message (issue 18)
WAITING_ENTRY_UNITS = 2  # the waiting-index entry of a delivered message: in at the claim, out when final
MEMORY_GOAL_MB = 256


def speedup_rows(measured: list[batch_speedup.Speedup], moto: dict[str, memory.Memory]) -> list[Row]:
    rows = []
    for index, result in enumerate(measured, start=1):
        goal = result.latency_ms == 100.0
        met = result.ratio >= SPEEDUP_GOAL if goal else None
        note = (
            f"At the template's defaults (EsmsRateLimit paced). Hand-written calls, concurrent:"
            f" {result.baseline_ms:.0f} ms ({result.baseline_ratio:.1f}x)."
        )
        if goal and not met:
            sender, baseline = moto["sender"].moto_ms_per_call, moto["baseline"].moto_ms_per_call
            note += (
                f" In the way: moto serves the batch's 20 conditional writes one at a time (one process,"
                f" a lock per table), {sender:.1f} ms of its CPU each for the sender's (history, indexes),"
                f" {baseline:.1f} ms for the hand-written ones; DynamoDB serves writes to different items"
                " in parallel."
            )
        rows.append(
            Row(
                f"1{'abc'[index - 1]}",
                f"Batch speedup, eSMS {result.latency_ms:.0f} ms",
                f"{result.ratio:.1f}x ({result.concurrent_ms:.0f} ms)",
                f"10 invocations of 1: {result.sequential_ms:.0f} ms",
                f">= {SPEEDUP_GOAL:.0f}x" if goal else "",
                met,
                note,
                data=vars(result),
            )
        )
    return rows


def account_rate_row(measured: account_rate.AccountRate) -> Row:
    met = measured.ratio >= RATE_GOAL and measured.throttled_share <= THROTTLED_GOAL
    return Row(
        "1d",
        "Account rate used (eSMS TPS = limit)",
        f"{measured.ratio * 100:.0f}% ({measured.accepted_per_second:.1f}/s),"
        f" 160: {measured.throttled_share * 100:.1f}%",
        f"EsmsRateLimit {measured.limit:.0f}/s",
        f">= {RATE_GOAL * 100:.0f}%, 160 <= {THROTTLED_GOAL * 100:.0f}%",
        met,
        f"{measured.environments} sender environments (MaxConcurrency) with a backlog, batch after batch,"
        f" eSMS {account_rate.LATENCY_MS:.0f} ms; accepted sends a second after the first"
        f" {account_rate.SETTLE_SECONDS:.0f} s (the environments joining); {measured.sends} sends,"
        f" {measured.throttled} answered 160; {measured.back_to_queue} records back to the queue.",
        data={**vars(measured), "ratio": measured.ratio, "throttled_share": measured.throttled_share},
    )


def cpu_row(measured: cpu.CpuPerMessage) -> Row:
    areas = measured.profile["areas"]
    profile = ", ".join(f"{area} {share * 100:.0f}%" for area, share in list(areas.items())[:8])
    calls = ", ".join(f"{name} {count:.2f}" for name, count in measured.sender_calls.items())
    met = measured.ratio <= CPU_GOAL
    note = f"AWS calls a message: {calls}. Where the sender's CPU goes (sampled): {profile}."
    if not met:
        excess = ", ".join(f"{area} {ms:.2f} ms" for area, ms in measured.excess_by_area().items())
        note += (
            f" In the way, what it spends beyond the baseline: {excess}; spread thin (no function"
            " above 3%): validating the body, the history entry and its serialisation, the log line"
            " and metrics, the claim token."
        )
    return Row(
        "2",
        "CPU per message (process CPU)",
        f"{measured.sender_ms:.2f} ms ({measured.ratio:.2f}x)",
        f"hand-written {measured.baseline_ms:.2f} ms",
        f"<= {CPU_GOAL}x",
        met,
        note,
        data={**vars(measured), "excess_by_area": measured.excess_by_area()},
    )


def init_rows(measured: cold_init.ColdInits) -> list[Row]:
    rows: list[Row] = []
    letters = iter("abcd")
    extra = measured.beyond_baseline
    total = sum(extra.values()) or 1.0
    in_the_way = ", ".join(f"{package} {seconds / total * 100:.0f}%" for package, seconds in extra.items())
    for function, results in measured.inits.items():
        for label in ("bytecode", "source"):
            handler, baseline = results[f"handler {label}"], results[f"baseline {label}"]
            ratio = handler.cpu / baseline.cpu
            met = ratio <= INIT_GOAL
            shipped = (
                "the layer as `make build` ships it (compiled)"
                if label == "bytecode"
                else ("no bytecode (SAM's python builder; compiled at every cold start)")
            )
            note = f"{shipped}; wall {handler.wall:.2f} s vs {baseline.wall:.2f} s."
            if not met and not rows:
                note += (
                    " In the way, what the sender imports beyond boto3 and requests (share of its import"
                    f" time): {in_the_way}; zns_relay's share is mostly building the pydantic models its"
                    " path validates (the contract, the stored message, secrets, settings), on top of"
                    " pydantic's own modules; the X-Ray SDK (Tracing: Active; its wrapt brings asyncio)."
                    " What would meet it: Lambda SnapStart (init runs once, when a version is published;"
                    " its pacer lease id and random seeds then made after restore), or the sender's path"
                    " without pydantic and without the X-Ray SDK."
                )
            elif not met:
                callback = function == "CallbackFunction"
                note += " In the way: as 3a" + (
                    " and Powertools' event handler (every event data class, its OpenAPI types)."
                    if callback
                    else "."
                )
            rows.append(
                Row(
                    f"3{next(letters)}",
                    f"Cold init {function.removesuffix('Function').lower()}, {label}",
                    f"{handler.cpu:.2f} s CPU ({ratio:.2f}x)",
                    f"boto3+requests {baseline.cpu:.2f} s",
                    f"<= {INIT_GOAL}x",
                    met,
                    note,
                    data={"handler": vars(handler), "baseline": vars(baseline), "beyond_baseline": extra},
                )
            )
    return rows


def capacity_rows(both: capacity.HappyPath, final_only: capacity.HappyPath) -> list[Row]:
    indexes = ", ".join(f"{name} {units:.1f}" for name, units in both.index_write_units.items())
    steps = ", ".join(f"{status} {size} B/{units} WRU" for status, (size, units) in both.steps.items())
    transitions = sum(1 for status in both.steps if status)
    met = both.write_units <= WRITE_UNITS_GOAL
    note = (
        f"Table {both.table_write_units:.1f}, {indexes}; reads {both.read_units:.3f}."
        f' Item after each write ("": the send lease in ThrottleTable): {steps}.'
        f" Only the final report ({final_only.write_units:.1f} WRU):"
        f" {', '.join(f'{s} {b} B' for s, (b, _) in final_only.steps.items() if s)}."
        f" moto's ReturnConsumedCapacity: {both.reported_units:.1f} a message (flat, no index units)."
        " The change stream's reads by a Lambda trigger are free. What is left: a write per transition"
        f" ({transitions}, the item under 1 KB), the sms_id, phone and campaign entries (once each), the"
        " waiting-index"
        " entry (in at the claim, out when final: acceptance and the SENT report keep its key), the"
        " status-index entry (once, when final), the send lease's share."
    )
    if not met:
        waiting = both.index_write_units.get("waiting-index", 0.0)
        floor = transitions + sum(
            units for name, units in both.index_write_units.items() if name != "waiting-index"
        )
        lease = both.table_write_units - transitions
        without_waiting = both.write_units - waiting
        note += (
            f" In the way of {WRITE_UNITS_GOAL:.0f}: DESIGN's fixed contracts leave a floor of {floor:.0f} (a"
            " write a transition; the sms_id-index, and the lists by phone, campaign and status); above it"
            f" the waiting-index's {waiting:.0f} (a message that waits must be findable by the reconciler,"
            f" and leaving the index is a write too) and the lease's {lease:.1f}."
            " Without a waiting entry on the happy path (the reconciler finding a batch's messages by one"
            f" delayed SQS message a batch, entering only those still waiting): {without_waiting:.1f} WRU."
        )
    return [
        Row(
            "4",
            "DynamoDB write units a message",
            f"{both.write_units:.1f} WRU",
            "22.0 WRU before (issue 18)",
            f"<= {WRITE_UNITS_GOAL:.0f} WRU",
            met,
            note,
            data={"reports_7_and_5": vars(both), "report_5_only": vars(final_only)},
        )
    ]


def callback_row(measured: dict[str, callbacks.OfferedLoad]) -> Row:
    real, baseline = measured["callback"], measured["baseline"]
    in_the_way = real.in_the_way(os.cpu_count() or 1)
    note = (
        f"Open loop (wrk2's model) at {real.offered_per_second:.0f}/s, {HTTP_ENVIRONMENTS}"
        f" execution environments: {real.breakdown()}. Hand-written:"
        f" {baseline.breakdown()}."
    )
    if in_the_way:
        note += (
            f" In the way: {'; '.join(in_the_way)}. What would meet it: a DynamoDB that serves writes on"
            f" more than one core, as DynamoDB does (on AWS an UpdateItem takes milliseconds and the"
            f" function scales to CallbackConcurrency environments), or a cheaper write for moto: even the"
            f" hand-written one-clause write costs it {baseline.cpu_ms['moto']:.1f} ms."
        )
    return Row(
        "5",
        "Callbacks at 200/s (local HTTP API)",
        f"p99 {real.latency.p99_ms:.0f} ms (p50 {real.latency.p50_ms:.0f})",
        f"hand-written p99 {baseline.latency.p99_ms:.0f} (p50 {baseline.latency.p50_ms:.0f})",
        f"p99 < {callbacks.P99_GOAL_MS:.0f} ms",
        real.met,
        note,
        data={
            name: {**asdict(result), "cpu_total_ms": result.cpu_total_ms, "cores_busy": result.cores_busy}
            for name, result in measured.items()
        },
    )


def memory_rows(
    measured: dict[str, memory.Memory], both: capacity.HappyPath, inputs: cost.Inputs
) -> list[Row]:
    sender, baseline = measured["sender"], measured["baseline"]
    template = Template()
    options = cost.memory_options(inputs, template)
    best = cost.best_memory(options)
    configured = template.function("SenderFunction").memory_mb
    table = "; ".join(option.describe() for option in options)
    return [
        Row(
            "6a",
            "Peak memory, 1,000 messages",
            f"{sender.peak_mb:.0f} MB",
            f"hand-written {baseline.peak_mb:.0f} MB",
            f"fits {MEMORY_GOAL_MB} MB",
            sender.peak_mb < MEMORY_GOAL_MB,
            f"the worker process's resident peak (its own imports included); sender and callback in one"
            f" process: {both.peak_mb:.0f} MB.",
            data={name: vars(result) for name, result in measured.items()},
        ),
        Row(
            "6b",
            "MemorySize (sender, callback)",
            f"{configured} MB in template.yaml",
            "512 MB before",
            "cheapest usable",
            configured == best.memory_mb,
            f"Lambda GB-s per million messages by size: {table}.",
            data={"options": [vars(option) for option in options], "best": best.memory_mb},
        ),
    ]


def cost_rows(inputs: cost.Inputs, final_report_only: cost.Inputs) -> list[Row]:
    template = Template()
    lines = cost.lines(inputs, template)
    total = cost.total(lines)
    esms = cost.esms_cost_per_million()
    largest = sorted(lines, key=lambda line: line.cost, reverse=True)
    met = total <= COST_GOAL
    note = (
        f"With a SendStatus 7 and a 5 report a message; with the final report only (eSMS's published"
        f" samples): ${cost.total(cost.lines(final_report_only, template)):.2f}. eSMS's own price:"
        f" ${esms:,.0f} a million ZNS (AWS is {total / esms * 100:.2f}% of it)."
    )
    if not met:
        note += " In the way: " + ", ".join(f"{line.item} ${line.cost:.2f}" for line in largest[:4]) + "."
        cost_of = {line.item: line.cost for line in lines}
        changes = [
            ("outcome events for final statuses only (DESIGN: every status change)", 0.75, "EventBridge"),
            (
                "the SMS text sealed under a data key cached per environment, not a KMS request each",
                1.0,
                "KMS",
            ),
            ("callbacks through a Lambda function URL, not the HTTP API", 1.0, "HTTP API"),
        ]
        saved = [
            (change, share * sum(cost for item, cost in cost_of.items() if item.startswith(prefix)))
            for change, share, prefix in changes
        ]
        after = (
            total
            - sum(amount for _, amount in saved)
            - WAITING_ENTRY_UNITS * cost_of["DynamoDB write units"] / (inputs.write_units or 1)
        )
        note += (
            " Design changes, priced on this run: "
            + "; ".join(f"{change} (${amount:.2f})" for change, amount in saved)
            + f"; with them and the waiting-index entry off the happy path (row 4): ${after:.2f}. Above $10"
            " then: the Logs (Powertools' context fields on every line, Lambda's START, END and REPORT"
            " lines), 90 days of storage and backups (RetentionDays), X-Ray's sampled traces; a shorter"
            " RetentionDays (30 days: about $1.45 less) and leaner log lines are the last steps to it."
        )
    rows = [
        Row(
            "7",
            "AWS cost per million messages",
            f"${total:.2f}",
            f"eSMS ${esms:,.0f}",
            f"<= ${COST_GOAL:.0f}",
            met,
            note,
            data={"inputs": vars(inputs), "lines": [{**vars(line), "cost": line.cost} for line in lines]},
        )
    ]
    for index, line in enumerate(largest, start=1):
        rows.append(
            Row(
                f"7.{index}",
                f"  {line.item}",
                f"${line.cost:.3f}",
                f"{line.quantity:,.0f} x ${line.unit_price:g}"
                if line.quantity >= 100
                else f"{line.quantity:.2f} x ${line.unit_price:g}",
                note=line.note,
            )
        )
    return rows


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure_all(stack: Backends) -> list[Row]:
    step("batch speedup")
    speedups = batch_speedup.measure(stack)
    step("account rate")
    rate = account_rate.measure(stack)
    step("CPU per message")
    per_message = cpu.measure(stack)
    step("cold init")
    inits = cold_init.measure(stack)
    step("DynamoDB capacity")
    both, final_only = capacity.measure(stack, (7, 5)), capacity.measure(stack, (5,))
    step("callbacks at 200/s")
    throughput = callbacks.measure(stack)
    step("memory")
    memories = memory.measure(stack)
    inputs = _cost_inputs(
        both,
        sender_cpu_ms=per_message.sender_ms,
        sender_log_bytes=per_message.log_bytes,
        init_cpu_s=inits.inits["SenderFunction"]["handler bytecode"].cpu,
        peak_mb=max(memories["sender"].peak_mb, both.peak_mb),
    )
    return [
        *speedup_rows(speedups, memories),
        account_rate_row(rate),
        cpu_row(per_message),
        *init_rows(inits),
        *capacity_rows(both, final_only),
        callback_row(throughput),
        *memory_rows(memories, both, inputs),
        *cost_rows(inputs, _final_report_only(inputs, final_only)),
    ]


def measure_dynamodb_and_cost(stack: Backends) -> list[Row]:
    """Rows 4 and 7 alone (`python -m bench dynamodb`): the DynamoDB figures and the logs measured now, the
    cost's other inputs (CPU per message, cold init, peak memory) from the last full run's results."""
    step("DynamoDB capacity")
    both, final_only = capacity.measure(stack, (7, 5)), capacity.measure(stack, (5,))
    [earlier] = [
        figure["data"]["inputs"]
        for figure in json.loads(RESULTS.read_text())["figures"]
        if figure["number"] == "7"
    ]
    inputs = _cost_inputs(
        both,
        sender_cpu_ms=earlier["sender_cpu_ms"],
        sender_log_bytes=both.sender_log_bytes,
        init_cpu_s=earlier["init_cpu_s"],
        peak_mb=earlier["peak_mb"],
    )
    return [*capacity_rows(both, final_only), *cost_rows(inputs, _final_report_only(inputs, final_only))]


def _cost_inputs(
    both: capacity.HappyPath,
    *,
    sender_cpu_ms: float,
    sender_log_bytes: float,
    init_cpu_s: float,
    peak_mb: float,
) -> cost.Inputs:
    """The cost's inputs: the sender's CPU, logs, init and memory as given, the rest from the happy path
    with a SendStatus 7 and a 5 report."""
    return cost.Inputs(
        sender_cpu_ms=sender_cpu_ms,
        sender_log_bytes=sender_log_bytes,
        init_cpu_s=init_cpu_s,
        peak_mb=peak_mb,
        write_units=both.write_units,
        read_units=both.read_units,
        final_item_bytes=both.final_item_bytes,
        index_entry_bytes=sum(both.final_index_bytes.get(name, 0) for name in cost.LASTING_INDEXES),
        callbacks=2,
        callback_cpu_ms=both.callback_cpu_ms,
        callback_log_bytes=both.callback_log_bytes,
    )


def _final_report_only(inputs: cost.Inputs, final_only: capacity.HappyPath) -> cost.Inputs:
    return replace(
        inputs,
        write_units=final_only.write_units,
        read_units=final_only.read_units,
        final_item_bytes=final_only.final_item_bytes,
        callbacks=1,
    )


def step(name: str) -> None:
    print(f"  measuring {name}...", file=sys.stderr, flush=True)


def main(arguments: list[str] | None = None) -> int:
    """Every figure; with the argument "dynamodb", rows 4 and 7 alone (their figures replaced in
    bench/results.json, the others kept)."""
    only_dynamodb = (sys.argv[1:] if arguments is None else arguments) == ["dynamodb"]
    started = time.monotonic()
    load_before = os.getloadavg()
    print("zns-relay benchmark (issue 12): every figure against its baseline, same run", file=sys.stderr)
    with backends() as stack:
        rows = measure_dynamodb_and_cost(stack) if only_dynamodb else measure_all(stack)
    load_after = os.getloadavg()
    context: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "seconds": round(time.monotonic() - started),
    }
    print(
        f"\n{context['when']}  commit {context['commit']}  Python {context['python']}  {context['machine']}"
        f"  load {load_before[0]:.1f} -> {load_after[0]:.1f}  ({context['seconds']} s)\n"
    )
    print(render(rows))
    if only_dynamodb:
        kept = json.loads(RESULTS.read_text())
        context = {
            **{key: value for key, value in kept.items() if key != "figures"},
            "dynamodb_and_cost": context,
        }
        replaced = {row.number for row in rows}
        rows = [*(Row(**figure) for figure in kept["figures"] if figure["number"] not in replaced), *rows]
        rows.sort(
            key=lambda row: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", row.number)]
        )
    write_results(rows, context)
    print(f"\n{RESULTS.relative_to(ROOT)} written")
    return 0
