"""PublisherFunction's objects: the status event publisher on the event bus."""

from __future__ import annotations

from zns_relay.composition.aws import client
from zns_relay.config.settings import PublisherSettings
from zns_relay.status_events.publisher import StatusEventPublisher


def build_publisher(settings: PublisherSettings) -> StatusEventPublisher:
    return StatusEventPublisher(client("events"), settings.event_bus_name, settings.event_phone_format)
