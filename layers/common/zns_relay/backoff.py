"""How long a failed message waits before SQS offers it again: exponential backoff, full jitter."""

from __future__ import annotations

import random


def retry_delay_seconds(receive_count: int, base_seconds: int, max_seconds: int, rng: random.Random) -> int:
    """Full-jitter delay for the next try after `receive_count` receives.

    The ceiling doubles with each receive (base, 2 x base, 4 x base, ...) up to `max_seconds`; the
    delay is drawn uniformly between base and the ceiling so that a burst of throttled messages
    spreads out instead of coming back together.
    """
    exponent = min(max(receive_count - 1, 0), 30)
    ceiling = min(max_seconds, base_seconds * (2**exponent))
    if ceiling <= 0:
        return 0
    return rng.randint(min(base_seconds, ceiling), ceiling)
