"""Batch speedup at the template's default parameters: one SQS batch of ten against the same ten
messages as ten invocations of one, at several eSMS latencies.

Both run the real SenderFunction as Lambda invokes it, each in an execution environment of its own in
one worker process, their runs alternating, with the template's EsmsRateLimit: the pacing is part of
what is measured (it shares the rate among the environments sending: the batch's environment and the
singles' both send). Their AWS calls go over the network to the moto server, their sends to the eSMS
simulator (each in a process of its own). The hand-written baseline sends the same batch concurrently
beside them: the time the network calls alone take, with moto serving them, which bounds what the
sender can reach here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.backends import AT_DEFAULTS, Backends
from bench.workload import BATCH_SIZE

LATENCIES_MS = (50.0, 100.0, 200.0)
BATCHES = 6


@dataclass(frozen=True)
class Speedup:
    latency_ms: float
    concurrent_ms: float  # the batch of ten
    sequential_ms: float  # ten invocations of one
    baseline_ms: float  # the hand-written baseline's concurrent batch

    @property
    def ratio(self) -> float:
        return self.sequential_ms / self.concurrent_ms

    @property
    def baseline_ratio(self) -> float:
        return self.sequential_ms / self.baseline_ms


def measure(
    backends: Backends, latencies: tuple[float, ...] = LATENCIES_MS, batches: int = BATCHES
) -> list[Speedup]:
    results = []
    for latency in latencies:
        backends.simulator.configure(latency_ms=latency)
        runs = backends.run_worker(
            "batches",
            {
                "concurrent": ("SenderFunction", AT_DEFAULTS),
                "sequential": ("SenderFunction", AT_DEFAULTS),
                "baseline": ("MinimalSender", {}),
            },
            shapes={"sequential": {"batch_size": 1, "invocations": BATCH_SIZE}},
            batches=batches,
        )
        wall = {
            label: statistics.median(batch["wall"] for batch in run["batches"]) * 1000
            for label, run in runs.items()
        }
        results.append(Speedup(latency, wall["concurrent"], wall["sequential"], wall["baseline"]))
    backends.simulator.configure(latency_ms=0.0)
    return results
