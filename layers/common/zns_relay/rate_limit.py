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


class TokenBucket:
    """`per_second` calls on average, with bursts of up to `capacity`: a batch goes out at once when
    the bucket is full, and the rate holds over time. Thread-safe; clock and sleep are injectable."""

    def __init__(
        self,
        per_second: float,
        capacity: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = capacity
        self._updated = clock()
        self._rate = per_second
        self._capacity = capacity
        self.set_rate(per_second, capacity)

    def set_rate(self, per_second: float, capacity: float) -> None:
        if per_second <= 0 or capacity < 1:
            raise ValueError("the rate must be positive and the capacity at least 1")
        with self._lock:
            self._refill(self._clock())
            self._rate = per_second
            self._capacity = capacity
            self._tokens = min(self._tokens, capacity)

    def try_acquire(self, max_wait: float) -> bool:
        """Take a token if one comes within `max_wait` seconds (waiting for it); else take none.

        The token is taken under the lock (the balance may go below zero: later callers queue behind)
        and waited for outside it."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            wait = max(0.0, (1.0 - self._tokens) / self._rate)
            if wait > max_wait:
                return False
            self._tokens -= 1.0
        if wait > 0:
            self._sleep(wait)
        return True

    def _refill(self, now: float) -> None:
        """Call with the lock held."""
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
