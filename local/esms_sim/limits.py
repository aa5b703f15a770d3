"""Rate limits on the simulator's clock: a token bucket for sends, sliding one-second windows for others.

Both are plain state advanced by the caller's `now` (the simulator holds its lock and owns the clock),
so a test that injects a clock gets exact, repeatable answers.
"""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 1.0
_EPSILON = 1e-9  # refills computed in floating point may land a hair under a whole token


class TokenBucket:
    """Starts full; each call takes one token; tokens come back at `rate` a second up to `capacity`."""

    def __init__(self, now: float, capacity: float) -> None:
        self._tokens = capacity
        self._updated = now

    def take(self, now: float, rate: float, capacity: float) -> bool:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(capacity, self._tokens + elapsed * rate)
        self._updated = now
        if self._tokens + _EPSILON < 1.0:
            return False
        self._tokens = max(0.0, self._tokens - 1.0)
        return True


class SlidingWindow:
    """The calls of the last second: `admit` refuses one that would make more than `limit` (0 = no limit)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def admit(self, now: float, limit: int) -> bool:
        self._forget_before(now)
        if limit and len(self._times) >= limit:
            return False
        self._times.append(now)
        return True

    def count(self, now: float) -> int:
        """Calls admitted in the second up to `now`."""
        self._forget_before(now)
        return len(self._times)

    def _forget_before(self, now: float) -> None:
        while self._times and self._times[0] <= now - WINDOW_SECONDS:
            self._times.popleft()
