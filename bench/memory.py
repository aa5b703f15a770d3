"""Memory: the sender's peak resident memory through a 1,000-message run (a hundred batches of ten, in
one execution environment), against the hand-written baseline's through the same run. Each runs in a
worker process of its own (peak RSS is a process's); the moto server's CPU time per AWS call is read
meanwhile, which says how long the local DynamoDB takes to serve each function's writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.backends import Backends

BATCHES = 100


@dataclass(frozen=True)
class Memory:
    peak_mb: float
    moto_ms_per_call: float | None  # the moto server's CPU time per AWS call the run made


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time a process has used so far (Linux /proc), None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / os.sysconf("SC_CLK_TCK")


def measure_one(backends: Backends, function: str, batches: int = BATCHES) -> Memory:
    before = cpu_seconds(backends.moto_pid)
    run = backends.run_worker("batches", {function: (function, {})}, batches=batches, warmup=0)[function]
    after = cpu_seconds(backends.moto_pid)
    calls = sum(run["calls"].values())
    moto = (after - before) / calls * 1000 if before is not None and after is not None and calls else None
    return Memory(run["max_rss_mb"], moto)


def measure(backends: Backends) -> dict[str, Memory]:
    return {
        "sender": measure_one(backends, "SenderFunction"),
        "baseline": measure_one(backends, "MinimalSender"),
    }
