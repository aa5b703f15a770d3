"""An open-loop HTTP load, in a process of its own: GET requests started at a fixed rate, whatever the
answers' pace, each one's latency counted from when the plan says it should have started.

This is wrk2's model (github.com/giltene/wrk2, "a note about wrk2's latency measurement technique"): a
closed-loop caller sends its next request only after an answer, so a slow answer delays the requests
behind it and their wait is never measured (coordinated omission). Here a pacer hands request i to a
pool of callers at `start + i / rate`; a request that finds every caller busy waits, and that wait is
in its latency. Loopback only, bounded in count and in time.

`python -m bench.open_loop` reads {"port", "rate", "paths", "callers", "headers", "max_seconds"} as
JSON on stdin and writes one [planned, sent, answered, status] a request (seconds from the start;
status 0 for a request that failed or was never sent) as JSON on stdout.
"""

from __future__ import annotations

import http.client
import json
import queue
import sys
import threading
import time
from typing import Any

TIMEOUT_SECONDS = 30.0


def run(
    port: int, rate: float, paths: list[str], *, callers: int, headers: dict[str, str], max_seconds: float
) -> list[list[float]]:
    """Every path requested once, request i planned at i / rate seconds; stops planning at max_seconds."""
    results: list[list[float]] = [[index / rate, 0.0, 0.0, 0] for index in range(len(paths))]
    planned: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    start = time.perf_counter()

    def call() -> None:
        while (index := planned.get()) is not None:
            sent = time.perf_counter() - start
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
            try:
                connection.request("GET", paths[index], headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                connection.close()
            results[index][1:] = [sent, time.perf_counter() - start, status]

    pool = [threading.Thread(target=call, daemon=True) for _ in range(callers)]
    for thread in pool:
        thread.start()
    for index in range(len(paths)):
        due = start + index / rate
        if due - start > max_seconds:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        planned.put(index)
    for _ in pool:
        planned.put(None)
    for thread in pool:
        thread.join(TIMEOUT_SECONDS)
    return results


def main() -> int:
    spec: dict[str, Any] = json.load(sys.stdin)
    results = run(
        spec["port"],
        spec["rate"],
        spec["paths"],
        callers=spec["callers"],
        headers=spec["headers"],
        max_seconds=spec["max_seconds"],
    )
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
