"""The reconciler's writes of what its decisions say about a message (routing, endings): each one
conditional on the status the decision was made in, so that nothing that moved the message since
(a callback, a retry) is overwritten."""

from __future__ import annotations

from zns_relay.config.observability import count, logger
from zns_relay.models.state import MessageStatus
from zns_relay.reconciler.endings import Ending, Look
from zns_relay.reconciler.routing import AbandonMidSend
from zns_relay.reconciler.summary import ReconcileSummary
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import WaitingMessage

Outcome = Look | Ending | AbandonMidSend


class OutcomeWriter:
    def __init__(self, store: MessageStore) -> None:
        self._store = store

    def write(self, message: WaitingMessage, outcome: Outcome, summary: ReconcileSummary) -> None:
        """The next look, a final status, or a message left mid-send set to wait for its report."""
        if isinstance(outcome, Look):
            if self._store.reschedule(
                message.request_id, outcome.check_at, while_in=frozenset({message.status})
            ):
                summary.rescheduled += 1
        elif isinstance(outcome, Ending):
            self._end(message, outcome, summary)
        elif self._store.transition(
            message.request_id,
            MessageStatus.RETRYING,
            outcome.detail,
            {"error": outcome.detail},
            keep_fields={"uncertain_since": outcome.uncertain_since},
            only_from=frozenset({MessageStatus.SENDING}),
            lease_expired_by=outcome.lease_expired_by,
            check_at=outcome.check_at,
        ):
            summary.rescheduled += 1
            count("MessagesAbandonedMidSend")

    def _end(self, message: WaitingMessage, ending: Ending, summary: ReconcileSummary) -> None:
        status = ending.status
        if self._store.transition(
            message.request_id,
            status,
            ending.detail,
            {"error": ending.detail},
            only_from=frozenset({message.status}),
        ):
            summary.ended[status.value] += 1
            count(f"Messages{status.value.capitalize()}")
            logger.warning(f"message {status.value.lower()}", extra={"request_id": message.request_id})
