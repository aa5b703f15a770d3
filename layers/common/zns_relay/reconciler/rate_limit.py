"""A blocking rate limiter for calls to an endpoint with a documented calls-per-second limit."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `per_second` calls in any one-second window, spaced evenly rather than in bursts.

    Even spacing (1/`per_second` apart) keeps the calls smooth; the record of the last calls makes
    the limit exact whatever rounding the clock does. Thread-safe; clock and sleep are injectable.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self.set_rate(per_second)

    @property
    def per_second(self) -> float:
        return 1.0 / self._interval

    def set_rate(self, per_second: float) -> None:
        """Change the limit; calls already made still count against it."""
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            self._interval = 1.0 / per_second
            self._per_window = max(1, math.floor(per_second))
            self._window = max(1.0, self._interval)  # one second, or longer below one call a second
            self._recent = deque(self._recent, maxlen=self._per_window)

    def acquire(self) -> None:
        """Wait until the next call is allowed, and take its slot."""
        self.try_acquire(float("inf"))

    def try_acquire(self, max_wait: float) -> bool:
        """Take the next slot if it comes within `max_wait` seconds (waiting for it); else take none.

        The slot is reserved under the lock and waited for outside it, so callers queue in order.
        """
        with self._lock:
            now = self._clock()
            allowed = now
            if self._recent:
                allowed = max(allowed, self._recent[-1] + self._interval)
            if len(self._recent) == self._per_window:
                allowed = max(allowed, self._recent[0] + self._window)
            if allowed - now > max_wait:
                return False
            self._recent.append(allowed)
        if allowed > now:
            self._sleep(allowed - now)
        return True
