"""How long a record the sender hands back waits before SQS offers it again (backoff.py's delays,
drawn from one random source shared by the invocation's threads)."""

from __future__ import annotations

import random
import threading

from zns_relay.sender.backoff import retry_delay_seconds, throttled_delay
from zns_relay.sender.pacing import SendPacer
from zns_relay.sender.policy import SenderPolicy


class RetryDelays:
    """Jittered delays; safe to call from several threads at once."""

    def __init__(self, policy: SenderPolicy, pacer: SendPacer | None, rng: random.Random | None) -> None:
        self._policy = policy
        self._pacer = pacer
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def after(self, receive_count: int, *, throttled: bool = False) -> int:
        """After `receive_count` receives: an error's backoff, or, `throttled` (eSMS's rate limit, when
        sends are paced), the wait for the backlog at the shared rate."""
        if throttled and self._pacer is not None:
            with self._lock:
                backlog = self._pacer.retry_delay(self._policy.throttle_backlog, self._rng)
            return throttled_delay(backlog, self._backoff(receive_count))
        return self._backoff(receive_count)

    def _backoff(self, receive_count: int) -> int:
        with self._lock:
            return retry_delay_seconds(
                receive_count, self._policy.retry_base_seconds, self._policy.retry_max_seconds, self._rng
            )
