"""Pacing the sends to eSMS: the account's rate, shared by the environments that are sending now.

eSMS answers 160 when the account's TPS limit is exceeded. The senders keep one rate in DynamoDB,
starting at the configured ceiling (EsmsRateLimit, the account's limit as the operator knows it): a
160 lowers it (multiplicatively, once a second at most, whoever meets it), and a few seconds of answers
without 160 raise it again (additively, up to the ceiling).

The rate is shared by the execution environments that are sending, not by all that could be: beside
the rate, each keeps a lease, its share of the rate, renewed about once a second while it sends (a
write per renewal, never per send) and lapsing soon after it stops. The rate is divided max-min fairly
by what each wants: a batch's worth at first, twice its share once that falls short. So an environment
alone sends a batch at once and soon holds the whole rate, and one that joins gets what the others
leave at once, the rest of its part as they give theirs up. Lease writes are conditional on the leases
they were planned on, and a share given up still counts until the lease that held it ends, so together
the environments never send more than the rate in any one-second window. Each keeps to its share with
a sliding one-second window: up to its share at once, then as the window frees.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.config.observability import count, logger
from zns_relay.store.throttle import Lease, RateState, SharedRate, SharedState

DECREASE = 0.7  # a 160 takes the rate to 70 %
COOLDOWN_SECONDS = 1.0  # at most one decrease a second, across all senders
RECOVER_AFTER_SECONDS = 5.0  # this long without a 160 raises the rate one step
STEPS_TO_CEILING = 20  # a step is the ceiling / this
FLOOR = 1.0  # never slower than this (sends a second, across all senders)
WINDOW_SECONDS = 1.0  # the shares are sends in any one second
LEASE_SECONDS = 2.5  # a lease ends this long after it is written; its sends stop a second before
RENEW_SECONDS = 1.0  # a sending environment renews its lease this often
LOOK_AGAIN_SECONDS = 0.25  # while it holds less than its share, it reads the leases this often
ROTATE_SECONDS = 10.0  # the rate's remainder over the senders goes to other senders this often
WRITE_ATTEMPTS = 5  # lease writes that lost to another sender's, before waiting to look again


class SendPacer:
    """Thread-safe; one per execution environment."""

    def __init__(
        self,
        shared: SharedRate,
        *,
        ceiling: float,
        burst: int,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        name: str | None = None,
    ) -> None:
        self._shared = shared
        self._ceiling = ceiling
        self._burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._name = name or uuid.uuid4().hex[:12]  # this environment's lease
        self._lock = threading.Lock()
        self._renewed = threading.Condition(self._lock)
        self._state = RateState(ceiling, 0.0)
        self._lease = Lease(0, 0.0)
        self._renew_at = float("-inf")
        self._renewing = False
        self._sent: deque[float] = deque()  # this environment's sends (and slots taken) of the last second
        self._short = False  # a send had to wait for its slot since the last renewal

    @property
    def rate(self) -> float:
        """The shared rate as this sender last saw it (sends a second, across all senders)."""
        return self._state.rate

    @property
    def share(self) -> int:
        """This environment's part of the rate: sends in any one second."""
        return self._lease.share

    def turn(self, max_wait: float) -> bool:
        """Wait for this sender's next send slot; False if none comes within `max_wait` seconds."""
        deadline = self._clock() + max_wait
        while True:
            self._renew_if_due()
            with self._lock:
                now = self._clock()
                slot = self._slot(now)
                if slot is not None and slot <= deadline:
                    self._sent.append(slot)
                    self._short = self._short or slot > now
                    break
                if self._renewing:  # another thread is renewing the lease: its answer may be a slot
                    self._renewed.wait(LOOK_AGAIN_SECONDS)
                    continue
                self._short = True
                # No slot in time on this lease: the next renewal may bring a larger share.
                look_again = self._renew_at if self._renew_at > now else now + LOOK_AGAIN_SECONDS
            if look_again > deadline:
                return False
            self._sleep(look_again - now)
        if slot > now:
            self._sleep(slot - now)
        return True

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

    def _slot(self, now: float) -> float | None:
        """The earliest time from `now` at which one more send keeps this environment's sends within
        its share in every one-second window, if that is within its lease. Call with the lock held."""
        sent = self._sent
        while sent and sent[0] <= now - WINDOW_SECONDS:
            sent.popleft()
        share = self._lease.share
        if share <= 0:
            return None
        slot = max(now, sent[-1]) if sent else now  # slots are taken in order
        recent = [at for at in sent if at > slot - WINDOW_SECONDS]
        if len(recent) >= share:
            slot = recent[len(recent) - share] + WINDOW_SECONDS
        return slot if slot < self._lease.until - WINDOW_SECONDS else None

    def _renew_if_due(self) -> None:
        """Renew the lease when due; one thread does (the others go on with the lease there is)."""
        with self._lock:
            now = self._clock()
            if self._renewing or now < self._renew_at:
                return
            self._renewing = True
            self._renew_at = now + LOOK_AGAIN_SECONDS  # what the other threads wait for meanwhile
        try:
            self._renew()
        except (ClientError, BotoCoreError) as error:
            # The lease runs out, and the sends stop with it: the claims need DynamoDB too.
            logger.warning("could not renew the send lease", extra={"error": type(error).__name__})
        finally:
            with self._lock:
                self._renewing = False
                self._renewed.notify_all()

    def _renew(self) -> None:
        for _ in range(WRITE_ATTEMPTS):
            seen = self._shared.read()
            now = self._clock()
            with self._lock:
                if seen.rate.changed_at >= self._state.changed_at:
                    self._state = seen.rate
                short = self._short
            # What it could use: a batch's sends at once, and twice its share once that fell short, so
            # that a sender that uses all it holds soon has its fair part.
            held = self._lease.share
            lease, target = self._plan(seen, now, want=max(self._burst, 2 * held if short else held))
            current = seen.leases.get(self._name)
            unchanged = current is not None and (current.share, current.want) == (lease.share, lease.want)
            if unchanged and current is not None and current.until - now > LEASE_SECONDS - RENEW_SECONDS:
                lease = current  # nothing to write yet
            elif not self._shared.lease(seen, {**self._others(seen, now), self._name: lease}):
                continue
            with self._lock:
                self._lease = lease
                self._short = self._short and not short
                every = LOOK_AGAIN_SECONDS if lease.share < target else RENEW_SECONDS
                # No later than a second after the lease was written: half a second of it is left.
                self._renew_at = min(now + every, lease.until - LEASE_SECONDS + RENEW_SECONDS)
            return

    def _others(self, seen: SharedState, now: float) -> dict[str, Lease]:
        """The other environments' leases that still count (the rest are dropped from the item)."""
        leases = seen.leases.items()
        return {name: lease for name, lease in leases if name != self._name and not lease.dead(now)}

    def _plan(self, seen: SharedState, now: float, want: int) -> tuple[Lease, int]:
        """This environment's next lease, and the share it is due: its fair part of the rate among
        the environments sending (or waiting to), taken from what the others' leases leave, given up
        when due."""
        others = self._others(seen, now)
        wants = {name: lease.want for name, lease in others.items() if lease.live(now)}
        wants[self._name] = want
        units = max(1, math.floor(self._state.rate))
        target = fair_shares(wants, units, turn=int(now // ROTATE_SECONDS))[self._name]
        old = seen.leases.get(self._name, Lease(0, 0.0))
        held = old.share if old.live(now) else 0
        if target < held:
            share = target
        else:
            share = max(held, min(target, units - sum(lease.committed(now) for lease in others.values())))
        # What the old lease still commits beyond the new share keeps counting until it ends: the
        # sends made on it all lie in windows that end by then.
        beyond = [
            (part, until)
            for part, until in ((old.share, old.until), (old.was, old.was_until))
            if part > share and now < until
        ]
        was = max((part for part, _ in beyond), default=0)
        was_until = max((until for _, until in beyond), default=0.0)
        return Lease(share, _rounded(now + LEASE_SECONDS), was, was_until, want), target

    def _set(self, seen: RateState, rate: float) -> None:
        """Call with the lock held."""
        try:
            self._state = self._shared.change(seen, rate, self._clock())
        except (ClientError, BotoCoreError) as error:
            # Pace by our own view meanwhile: slowing down locally still helps.
            logger.warning("could not change the shared send rate", extra={"error": type(error).__name__})
            self._state = RateState(rate, self._clock())
        self._renew_at = min(self._renew_at, self._clock())  # the shares follow the rate at the next turn


def fair_shares(wants: Mapping[str, int], units: int, turn: int) -> dict[str, int]:
    """Max-min fair: `units` divided so that no sender gets more than it wants and none that wants
    more gets less than another. The remainder of an uneven division goes to other senders each `turn`."""
    names = sorted(wants)
    start = turn % len(names)
    order = sorted(names[start:] + names[:start], key=lambda name: wants[name])  # ties stay rotated
    shares = {}
    left = units
    for index, name in enumerate(order):
        shares[name] = min(wants[name], left // (len(order) - index))
        left -= shares[name]
    return shares


def _rounded(seconds: float) -> float:
    """As the item keeps it (milliseconds)."""
    return float(f"{seconds:.3f}")
