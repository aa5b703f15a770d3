"""StatusFunction's objects: the message lookup over the table's indexes."""

from __future__ import annotations

from zns_relay.composition.aws import client
from zns_relay.config.settings import StatusSettings
from zns_relay.status_api.lookup import MessageLookup
from zns_relay.store.message_index import MessageIndex


def build_lookup(settings: StatusSettings) -> MessageLookup:
    return MessageLookup(MessageIndex(settings.table_name, client("dynamodb")))
