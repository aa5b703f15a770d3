"""Batch speedup: one SQS batch of ten sent concurrently (the template's SEND_CONCURRENCY) against the
same batch sent one record after another (SEND_CONCURRENCY=1), at several eSMS latencies.

Both run the real SenderFunction in one worker process, their batches alternating; its AWS calls go
over the network to the moto server, its sends to the eSMS simulator (each in a process of its own).
The hand-written baseline sends the same batch concurrently beside them: the time the network calls
alone take, with moto serving them, which bounds what the sender can reach here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.backends import Backends

LATENCIES_MS = (50.0, 100.0, 200.0)
BATCHES = 6


@dataclass(frozen=True)
class Speedup:
    latency_ms: float
    concurrent_ms: float
    sequential_ms: float
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
                "concurrent": ("SenderFunction", {}),
                "sequential": ("SenderFunction", {"SEND_CONCURRENCY": "1"}),
                "baseline": ("MinimalSender", {}),
            },
            batches=batches,
        )
        wall = {
            label: statistics.median(batch["wall"] for batch in run["batches"]) * 1000
            for label, run in runs.items()
        }
        results.append(Speedup(latency, wall["concurrent"], wall["sequential"], wall["baseline"]))
    backends.simulator.configure(latency_ms=0.0)
    return results
