"""The account's rate used: the template's MaxConcurrency sender environments with a backlog, against
an eSMS whose TPS limit is the template's EsmsRateLimit (the simulator's token bucket of a second's
worth, answering 160 when it is empty), at 100 ms of eSMS latency.

Each environment is the real SenderFunction at the template's defaults, invoked as Lambda invokes it,
batch after batch from a thread of its own in one worker process (bench/worker.py); its AWS calls go
to the moto server. What eSMS received is counted by the simulator: the rate of sends it accepted once
the environments have all joined, and the share of all sends it answered 160.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bench.backends import AT_DEFAULTS, Backends
from local.runtime.template import Template

SECONDS = 25.0  # of sending
SETTLE_SECONDS = 5.0  # the first seconds, while the environments join and the shares settle
LATENCY_MS = 100.0
ZNS_SEND = "zns_send"


@dataclass(frozen=True)
class AccountRate:
    limit: float  # EsmsRateLimit = eSMS's TPS limit here
    environments: int
    accepted_per_second: float  # after the first SETTLE_SECONDS
    sends: int
    throttled: int  # answered 160
    back_to_queue: int  # records returned to the queue (answered 160, or no send slot in time)

    @property
    def ratio(self) -> float:
        return self.accepted_per_second / self.limit

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.sends if self.sends else 0.0


def measure(backends: Backends, seconds: float = SECONDS) -> AccountRate:
    limit = float(AT_DEFAULTS["ESMS_RATE_LIMIT"])
    environments = int(Template().parameter_defaults()["MaxConcurrency"])
    before = len(backends.simulator.requests(ZNS_SEND))
    backends.simulator.configure(tps_limit=limit, latency_ms=LATENCY_MS)
    try:
        run = backends.run_worker(
            "account_rate",
            {"sender": ("SenderFunction", AT_DEFAULTS)},
            environments=environments,
            seconds=seconds,
        )
    finally:
        backends.simulator.configure(tps_limit=0.0, latency_ms=0.0)
    sends = backends.simulator.requests(ZNS_SEND)[before:]
    times = [datetime.fromisoformat(send["received_at"]).timestamp() for send in sends]
    start, end = min(times) + SETTLE_SECONDS, max(times)
    accepted = sum(
        1 for send, at in zip(sends, times, strict=True) if send["code_result"] == "100" and at >= start
    )
    return AccountRate(
        limit=limit,
        environments=environments,
        accepted_per_second=accepted / (end - start),
        sends=len(sends),
        throttled=sum(1 for send in sends if send["code_result"] == "160"),
        back_to_queue=run["back_to_queue"],
    )
