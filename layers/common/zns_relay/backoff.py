"""How long a failed message waits before SQS offers it again: exponential backoff with jitter."""

from __future__ import annotations

import random


def retry_delay_seconds(receive_count: int, base_seconds: int, max_seconds: int, rng: random.Random) -> int:
    """Jittered delay for the next try after `receive_count` receives.

    The ceiling doubles with each receive (base, 2 x base, 4 x base, ...) up to `max_seconds`; the
    delay is drawn uniformly from the upper half of it ("equal jitter"), so that a burst of failed
    messages spreads out instead of coming back together, and the receives a message spends on a
    retry window stay bounded (at most window / (max / 2) once the ceiling is reached), which is what
    the queue's maxReceiveCount is sized against.
    """
    exponent = min(max(receive_count - 1, 0), 30)
    ceiling = min(max_seconds, base_seconds * (2**exponent))
    if ceiling <= 0:
        return 0
    return rng.randint(max(ceiling // 2, min(base_seconds, ceiling)), ceiling)
