"""The deployment's choices the sender applies (from Settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from zns_relay.models.fallback import FallbackRequest, FallbackTrigger


@dataclass(frozen=True)
class SenderPolicy:
    """Deployment choices the logic applies (from Settings)."""

    default_oa_id: str
    sandbox_default: bool
    retry_window_seconds: int
    force_sandbox: bool = False  # a dev stage: no message is really sent, whatever it asks
    allowed_oa_ids: frozenset[str] = frozenset()  # empty: any OA
    allowed_brandnames: frozenset[str] = frozenset()  # empty: any brandname (the account's own)
    default_brandname: str = ""
    fallback_on: tuple[FallbackTrigger, ...] = (FallbackTrigger.NO_ZALO, FallbackTrigger.INACTIVE)
    fallback_defaults: Mapping[str, FallbackRequest] = field(default_factory=dict)  # by TempID
    default_validity_seconds: int = 0  # 0: a message without ValidUntil never expires
    retry_base_seconds: int = 10
    retry_max_seconds: int = 900
    # Past the end of its window, a message no delivery revisits is the reconciler's after this much.
    abandon_after_seconds: int = 1800
    # Claim nothing with less than this left of the invocation: a send could not finish in time.
    min_seconds_to_send: float = 20.0
    # Records that may be in flight at once across all senders: what a throttled record waits behind.
    throttle_backlog: int = 50
