"""Apply eSMS delivery reports to messages: forward only, duplicates harmless, early ones parked."""

from __future__ import annotations

import hmac
from enum import StrEnum

from zns_relay.credentials import CredentialsProvider
from zns_relay.models.callback import (
    DeliveryReport,
    documented_parameters,
    failure_reason,
    history_fields,
    parse_delivery_report,
    target_status,
)
from zns_relay.models.state import MessageStatus
from zns_relay.observability import count, logger
from zns_relay.store.messages import MessageStore
from zns_relay.store.parking import ParkedCallbacks

# A callback only ever moves a message that eSMS accepted from us.
CALLBACK_SOURCES = frozenset({MessageStatus.ACCEPTED, MessageStatus.SENT})
# A wrong token may mean the secret was rotated: re-read it, but not more often than this.
TOKEN_REFRESH_INTERVAL_SECONDS = 60


class CallbackResult(StrEnum):
    APPLIED = "applied"  # the message moved
    NOTED = "noted"  # kept in the history, no status change (a pending or inconclusive report)
    UNCHANGED = "unchanged"  # duplicate, late, out of order, or for a final message: a no-op
    PARKED = "parked"  # no message carries this SMSID yet


class CallbackAuthenticator:
    """Checks the URL token against CallbackToken and PreviousCallbackToken in constant time."""

    def __init__(self, credentials: CredentialsProvider) -> None:
        self._credentials = credentials

    def is_valid(self, token: str) -> bool:
        if self._matches(token, refresh=False):
            return True
        return self._matches(token, refresh=True)

    def _matches(self, token: str, refresh: bool) -> bool:
        credentials = (
            self._credentials.refresh(min_interval_seconds=TOKEN_REFRESH_INTERVAL_SECONDS)
            if refresh
            else self._credentials.get()
        )
        expected = [credentials.callback_token, credentials.previous_callback_token]
        offered = token.encode("utf-8", "replace")
        # Compare against every candidate (no early exit) so timing tells nothing.
        results = [
            hmac.compare_digest(offered, candidate.get_secret_value().encode())
            for candidate in expected
            if candidate is not None
        ]
        return any(results)


class DeliveryReports:
    """The one place delivery reports change messages; used by the webhook and by the sender."""

    def __init__(self, store: MessageStore, parked: ParkedCallbacks) -> None:
        self._store = store
        self._parked = parked

    def receive(self, params: dict[str, str]) -> CallbackResult:
        """Apply a callback's parameters (raises InvalidCallback for one that cannot be eSMS's)."""
        report = parse_delivery_report(params)
        request_id = self._store.find_by_sms_id(report.sms_id) or self._adopt_by_request_id(report)
        if request_id is None:
            # Not in the index (yet): meet the sender on the SMSID's CallbacksTable item.
            request_id = self._parked.park(report.sms_id, documented_parameters(params))
            if request_id is None:
                count("CallbacksParked")
                logger.info("callback for an SMSID not recorded yet: parked", extra={"sms_id": report.sms_id})
                return CallbackResult.PARKED
        return self.apply(request_id, report)

    def _adopt_by_request_id(self, report: DeliveryReport) -> str | None:
        """The message a callback names by RequestId when we never learnt its SMSID.

        That happens when eSMS's answer was lost and the retry heard 124 (already accepted). eSMS's
        samples leave RequestId empty, so this is a chance, not a rule; when it works, the SMSID is
        recorded and every later callback finds the message by it.
        """
        if not report.request_id:
            return None
        if self._store.adopt_sms_id(report.request_id, report.sms_id, while_in=CALLBACK_SOURCES):
            logger.info("SMSID learnt from a callback", extra={"request_id": report.request_id})
            return report.request_id
        return None

    def link_and_apply_parked(self, request_id: str, sms_id: str) -> int:
        """Called by the sender once eSMS gave `sms_id`: apply the callbacks that came first."""
        parked = self._parked.link(sms_id, request_id)
        for params in parked:
            self.apply(request_id, parse_delivery_report(params))
        if parked:
            logger.info("applied early callbacks", extra={"sms_id": sms_id, "count": len(parked)})
        return len(parked)

    def apply(self, request_id: str, report: DeliveryReport) -> CallbackResult:
        data = history_fields(report)
        target = target_status(report)
        if target is None:
            detail = f"eSMS report without a final outcome (SendStatus {report.send_status})"
            noted = self._store.note(request_id, detail, data, while_in=CALLBACK_SOURCES)
            count("CallbacksNoted" if noted else "CallbacksUnchanged")
            return CallbackResult.NOTED if noted else CallbackResult.UNCHANGED
        reason = failure_reason(report)
        fields = {"error": reason} if reason else {}
        applied = self._store.transition(
            request_id,
            target,
            _describe(report, target, reason),
            fields,
            data=data,
            only_from=CALLBACK_SOURCES,
        )
        if not applied:
            count("CallbacksUnchanged")
            return CallbackResult.UNCHANGED
        count(f"Messages{target.value.capitalize()}")
        logger.info("delivery report applied", extra={"request_id": request_id, "status": target})
        return CallbackResult.APPLIED


def _describe(report: DeliveryReport, target: MessageStatus, reason: str | None) -> str:
    if target is MessageStatus.SENT:
        return "eSMS sent it; waiting for the delivery report (SendStatus 7)"
    if target is MessageStatus.DELIVERED:
        return f"delivered (SendStatus 5, SendSuccess {report.send_success})"
    return reason or "delivery failed"
