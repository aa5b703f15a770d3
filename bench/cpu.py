"""CPU per message: the sender's whole path (parse, claim, POST, record, metrics, logs) against the
hand-written baseline making the same network calls (bench/minimal.py), in one worker process whose
CPU time is theirs alone. Their batches alternate, so that the machine's load touches both alike; each
figure is the median of its batches. Then a profile of each (bench/worker.py's sampling profiler)
says where the time goes, and where the sender spends more than the baseline.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.backends import Backends, Function

BATCHES = 30  # of each function, in turn: 300 messages each
PROFILED_BATCHES = 40  # ~400 samples of 4 ms


@dataclass(frozen=True)
class CpuPerMessage:
    sender_ms: float
    baseline_ms: float
    sender_calls: dict[str, float]  # AWS calls per message, by service.operation
    baseline_calls: dict[str, float]
    log_bytes: float  # what the sender logs per message (lines and metrics)
    profile: dict[str, Any]  # the sender's
    baseline_profile: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.sender_ms / self.baseline_ms

    def excess_by_area(self, top: int = 6) -> dict[str, float]:
        """Milliseconds a message the sender spends beyond the baseline, by area (profile shares of
        each one's measured CPU time), largest first."""
        sender, baseline = self.profile["areas"], self.baseline_profile["areas"]
        excess = {
            area: share * self.sender_ms - baseline.get(area, 0.0) * self.baseline_ms
            for area, share in sender.items()
        }
        return dict(sorted(excess.items(), key=lambda item: item[1], reverse=True)[:top])


def _per_message(run: dict[str, Any]) -> float:
    cpu: float = statistics.median(batch["cpu"] for batch in run["batches"])
    return cpu / int(run["batch_size"]) * 1000


def _calls(run: dict[str, Any]) -> dict[str, float]:
    return {name: count / run["messages"] for name, count in sorted(run["calls"].items())}


def measure(backends: Backends, batches: int = BATCHES) -> CpuPerMessage:
    functions: dict[str, Function] = {"sender": ("SenderFunction", {}), "baseline": ("MinimalSender", {})}
    runs = backends.run_worker("batches", functions, batches=batches)
    profiled = {
        label: backends.run_worker("batches", {label: function}, batches=PROFILED_BATCHES, profile=True)[
            label
        ]
        for label, function in functions.items()
    }
    sender, baseline = runs["sender"], runs["baseline"]
    return CpuPerMessage(
        sender_ms=_per_message(sender),
        baseline_ms=_per_message(baseline),
        sender_calls=_calls(sender),
        baseline_calls=_calls(baseline),
        log_bytes=sender["log_bytes"] / sender["messages"],
        profile=profiled["sender"]["profile"],
        baseline_profile=profiled["baseline"]["profile"],
    )
