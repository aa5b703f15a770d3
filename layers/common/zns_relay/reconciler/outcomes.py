"""The reconciler's writes of what its decisions say about a message (routing, endings): each one
conditional on the status the decision was made in, so that nothing that moved the message since
(a callback, a retry) is overwritten."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.config.observability import count, logger
from zns_relay.models.state import MessageStatus
from zns_relay.reconciler import endings
from zns_relay.reconciler.endings import Ending, Look
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.reconciler.routing import AbandonMidSend
from zns_relay.reconciler.summary import ReconcileSummary
from zns_relay.store.messages import MessageStore
from zns_relay.store.records import WaitingMessage

Outcome = Look | Ending | AbandonMidSend
STORE_ERRORS = (ClientError, BotoCoreError)


def guarded(summary: ReconcileSummary, action: Callable[..., object], *arguments: object) -> None:
    """Run one message's step; a store failure (throttling, an item grown too big) is counted and
    logged, and the run goes on with the next message."""
    try:
        action(*arguments)
    except STORE_ERRORS as error:
        summary.store_errors += 1
        count("ReconcileStoreErrors")
        logger.warning(
            "could not update a message; the next run retries", extra={"error": type(error).__name__}
        )


class OutcomeWriter:
    def __init__(self, store: MessageStore, policy: ReconcilePolicy) -> None:
        self._store = store
        self._policy = policy

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

    def unanswered(
        self,
        batch: Sequence[WaitingMessage],
        now: int,
        time_is_up: Callable[[], bool],
        summary: ReconcileSummary,
    ) -> None:
        """eSMS could not be asked about these: each waits, overdue or not, and is looked at again later;
        once the run's time is up the rest simply stay due (a slow store must not run the function into
        its timeout)."""
        summary.query_failures += 1
        overdue = 0
        for message in batch:
            if time_is_up():
                break
            overdue += self._policy.report_wait(message).overdue(now)
            guarded(summary, self.write, message, endings.recheck(message, now, self._policy), summary)
        if overdue:
            logger.warning(
                "eSMS's status endpoints cannot be asked: overdue messages wait", extra={"overdue": overdue}
            )

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
