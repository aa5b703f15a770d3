"""FallbackFunction's objects: the fallbacks planner over the store and FallbackQueue."""

from __future__ import annotations

from zns_relay.composition.aws import build_store, client
from zns_relay.config.settings import FallbackSettings
from zns_relay.fallback.fallbacks import Fallbacks
from zns_relay.store.fallback_queue import FallbackQueue


def build_fallbacks(settings: FallbackSettings) -> Fallbacks:
    queue = FallbackQueue(client("sqs"), settings.fallback_queue_url)
    return Fallbacks(build_store(settings), queue)
