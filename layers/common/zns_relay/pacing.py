"""Slowing down when eSMS says so: every sender paces its sends to a rate all senders share.

eSMS answers 160 when the account's TPS limit is exceeded. The senders keep one rate in DynamoDB,
starting at the configured ceiling (the account's limit as the operator knows it): a 160 lowers it
(multiplicatively, once a second at most, whoever meets it), and a few seconds of answers without
160 raise it again (additively, up to the ceiling). Each execution environment sends at its share of
the rate (the rate over the function's maximum concurrency), so that together they stay under it; up to a
second's worth of sends goes out at once, so that a batch's records are still sent concurrently.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.observability import count, logger
from zns_relay.rate_limit import TokenBucket
from zns_relay.store.throttle import RateState, SharedRate

DECREASE = 0.7  # a 160 takes the rate to 70 %
COOLDOWN_SECONDS = 1.0  # at most one decrease a second, across all senders
RECOVER_AFTER_SECONDS = 5.0  # this long without a 160 raises the rate one step
STEPS_TO_CEILING = 20  # a step is the ceiling / this
REFRESH_SECONDS = 2.0  # how stale a sender's view of the shared rate may be
FLOOR = 0.5  # never slower than this (sends a second, across all senders)


class SendPacer:
    """Thread-safe; one per execution environment."""

    def __init__(
        self,
        shared: SharedRate,
        *,
        ceiling: float,
        senders: int,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._shared = shared
        self._ceiling = ceiling
        self._senders = max(1, senders)
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._state = RateState(ceiling, 0.0)
        self._read_at = float("-inf")
        share = self._share(ceiling)
        self._limiter = TokenBucket(share, _burst(share), clock=monotonic, sleep=sleep)

    @property
    def rate(self) -> float:
        """The shared rate as this sender last saw it (sends a second, across all senders)."""
        return self._state.rate

    def turn(self, max_wait: float) -> bool:
        """Wait for this sender's next send slot; False if none comes within `max_wait` seconds."""
        self._refresh()
        return self._limiter.try_acquire(max_wait)

    def throttled(self) -> None:
        """eSMS answered 160: lower the shared rate (unless someone just did)."""
        count("EsmsThrottled")
        with self._lock:
            state = self._state
            if self._clock() - state.changed_at < COOLDOWN_SECONDS:
                return
            self._set(state, max(FLOOR, state.rate * DECREASE))
        logger.info("eSMS throttled the account: sending slower", extra={"rate": self._state.rate})

    def answered(self) -> None:
        """eSMS answered without throttling: after a while, raise the shared rate a step."""
        with self._lock:
            state = self._state
            if state.rate >= self._ceiling or self._clock() - state.changed_at < RECOVER_AFTER_SECONDS:
                return
            self._set(state, min(self._ceiling, state.rate + self._ceiling / STEPS_TO_CEILING))

    def retry_delay(self, backlog: int, rng: random.Random) -> int:
        """How long a throttled record waits: long enough for `backlog` sends at the current rate,
        spread so that the throttled records do not all come back together."""
        return max(1, round(rng.uniform(1.0, 1.0 + backlog / self.rate)))

    def _share(self, rate: float) -> float:
        return rate / self._senders

    def _refresh(self) -> None:
        """Re-read the shared rate when our view is stale; the read happens outside the lock, so the
        other send threads never wait on DynamoDB (one thread reads; the rest use the view they have)."""
        with self._lock:
            if self._monotonic() - self._read_at < REFRESH_SECONDS:
                return
            self._read_at = self._monotonic()
        try:
            state = self._shared.read()
        except (ClientError, BotoCoreError) as error:
            logger.warning("could not read the shared send rate", extra={"error": type(error).__name__})
            return
        with self._lock:
            if state.changed_at >= self._state.changed_at:
                self._apply(state)

    def _set(self, seen: RateState, rate: float) -> None:
        """Call with the lock held."""
        try:
            self._apply(self._shared.change(seen, rate, self._clock()))
        except (ClientError, BotoCoreError) as error:
            # Pace by our own view meanwhile: slowing down locally still helps.
            logger.warning("could not change the shared send rate", extra={"error": type(error).__name__})
            self._apply(RateState(rate, self._clock()))
        self._read_at = self._monotonic()

    def _apply(self, state: RateState) -> None:
        if state.rate != self._state.rate:
            share = self._share(state.rate)
            self._limiter.set_rate(share, _burst(share))
        self._state = state


def _burst(share: float) -> float:
    """A second's worth of this sender's share: a batch's records go out together."""
    return max(1.0, share)
