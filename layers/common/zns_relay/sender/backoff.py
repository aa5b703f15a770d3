"""How long a failed message waits before SQS offers it again: exponential backoff with jitter."""

from __future__ import annotations

import random


def retry_delay_range(receive_count: int, base_seconds: int, max_seconds: int) -> tuple[int, int]:
    """The shortest and longest delay for the next try after `receive_count` receives.

    The ceiling doubles with each receive (base, 2 x base, 4 x base, ...) up to `max_seconds`; the
    delay lies in the upper half of it ("equal jitter"), so that a burst of failed messages spreads
    out instead of coming back together, and the receives a message spends on a retry window stay
    bounded (`most_receives`), which is what the queue's maxReceiveCount is sized against.
    """
    exponent = min(max(receive_count - 1, 0), 30)
    ceiling = min(max_seconds, base_seconds * (2**exponent))
    if ceiling <= 0:
        return 0, 0
    return max(ceiling // 2, min(base_seconds, ceiling)), ceiling


def retry_delay_seconds(receive_count: int, base_seconds: int, max_seconds: int, rng: random.Random) -> int:
    """Jittered delay for the next try after `receive_count` receives (`retry_delay_range`)."""
    return rng.randint(*retry_delay_range(receive_count, base_seconds, max_seconds))


def most_receives(window_seconds: int, base_seconds: int, max_seconds: int) -> int | None:
    """The most receives a message failing on every one of them takes to its retry window's end (each
    waiting the shortest delay), and the one that closes the window; None: no bound (no delay)."""
    receives, waited = 0, 0
    while waited < window_seconds:
        receives += 1
        shortest, _ = retry_delay_range(receives, base_seconds, max_seconds)
        if shortest <= 0:
            return None
        waited += shortest
    return receives + 1


def throttled_delay(backlog_seconds: int, retry_delay: int) -> int:
    """How long a record eSMS throttled waits: long enough for the backlog at the shared rate
    (`backlog_seconds`); and, as throttling persists, at least half an error's backoff (`retry_delay`),
    so that a record's receives over a window stay bounded (maxReceiveCount)."""
    return max(backlog_seconds, retry_delay // 2)
