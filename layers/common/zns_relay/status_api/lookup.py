"""The status API's logic: one message with its history, or a page of messages by phone, campaign or
status, newest first."""

from __future__ import annotations

from typing import Any

from zns_relay.models.contract import is_valid_request_id, rejection_key
from zns_relay.models.errors import MessageNotFound
from zns_relay.models.state import FINAL_STATUSES, MessageStatus
from zns_relay.models.status_api import ListedBy, ListQuery, MessagePage, MessageView
from zns_relay.store.indexes import WAITING_INDEX, awaiting_shards, status_shards
from zns_relay.store.message_index import CAMPAIGN_INDEX, PHONE_INDEX, STATUS_INDEX, IndexQuery, MessageIndex


class MessageLookup:
    def __init__(self, index: MessageIndex) -> None:
        self._index = index

    def message(self, request_id: str) -> dict[str, Any]:
        """The message of a RequestId. A RequestId that breaks the contract (too long, a space) never
        names a message itself: its body was REJECTED and recorded under a key derived from it."""
        key = request_id if is_valid_request_id(request_id) else rejection_key(request_id)
        item = self._index.item(key)
        if item is None:
            raise MessageNotFound(request_id)
        return MessageView.of(item).answer()

    def messages(self, query: ListQuery) -> dict[str, Any]:
        """A page: `messages`, and `nextCursor` while there are more (a page may hold fewer than `limit`
        when messages changed status meanwhile or were removed by their retention)."""
        page = self._index.page(_index_queries(query), query.limit, query.cursor)
        views = [MessageView.of(item) for item in self._index.items(page.request_ids)]
        if query.by is ListedBy.STATUS:
            # The indexes trail the table by a moment: a message that has moved on is not listed; and the
            # waiting-index lists every status a message waits in, by its next check.
            views = [
                view
                for view in views
                if view.status == query.value and query.since <= (view.status_at or "") <= query.until
            ]
        return MessagePage(messages=views, next_cursor=page.cursor).answer()


def _index_queries(query: ListQuery) -> tuple[IndexQuery, ...]:
    if query.by is ListedBy.STATUS:
        status = MessageStatus(query.value)
        done = IndexQuery(
            STATUS_INDEX, "status_shard", "status_at", tuple(status_shards(status)), query.since, query.until
        )
        if status in FINAL_STATUSES:
            return (done,)
        # A message that waits (for a retry, a report) is in the waiting-index, not the status-index (a
        # sandbox message, which waits for nothing, is): both are read, the waiting-index second.
        waiting = IndexQuery(WAITING_INDEX, "awaiting", "check_at", awaiting_shards(), numeric=True)
        return (done, waiting)
    index, key = (PHONE_INDEX, "phone") if query.by is ListedBy.PHONE else (CAMPAIGN_INDEX, "campaign_id")
    return (IndexQuery(index, key, "created_at", (query.value,), query.since, query.until),)
