"""Apply eSMS delivery reports to messages: forward only, duplicates harmless.

The one place reports change messages, whether they come from the webhook (a callback whose signed
URL names the message) or from the reconciler (eSMS's GetCallback and QueryZnsStatus answers).
A report proves that eSMS accepted the message, so it may move one that is still SENDING or RETRYING.
It changes only the message it belongs to: one whose SMSID is the report's, of the channel the
report's TypeId names and, for a callback, whose nonce is the one its URL was signed with. Anything
else changes nothing, checked in the same conditional write (zns_relay.store.writes.ReportMatch).
A message whose SMSID we have not heard learns it from its first report, but from a callback only
while it is SENDING or RETRYING (eSMS called back before we recorded its answer): a callback never
teaches one to a message accepted through a 124, as a forged one could pin a wrong SMSID for ever.
That message's SMSID and report come from the reconciler (eSMS's list of sent messages, then its
status answers); its callback is answered LEFT_TO_RECONCILER and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from zns_relay.config.observability import count, logger
from zns_relay.models.callback import (
    DeliveryReport,
    failure_reason,
    history_fields,
    report_channels,
    target_status,
)
from zns_relay.models.state import (
    ALLOWED_SOURCES,
    BEFORE_ACCEPTANCE,
    WAITING_FOR_REPORT,
    Channel,
    MessageStatus,
    iso_time,
)
from zns_relay.models.suppression import suppression_from
from zns_relay.models.zalo_rules import BY_THE_PERSON, DEFERRABLE, ZaloRefusal, classify
from zns_relay.reports.deferral import Deferrals
from zns_relay.store.messages import Clock, MessageStore, utc_now
from zns_relay.store.pauses import Pauses
from zns_relay.store.records import Written
from zns_relay.store.suppressions import Suppressions
from zns_relay.store.writes import ReportMatch

CALLBACK = "callback"  # the source of a report eSMS called back with


class ReportResult(StrEnum):
    APPLIED = "applied"  # the message moved
    NOTED = "noted"  # kept in the history, no status change (a pending or inconclusive report)
    UNCHANGED = "unchanged"  # duplicate, late, out of order, or for a final message: a no-op
    UNKNOWN_MESSAGE = "unknown message"  # no message has this RequestId
    STALE_URL = "stale url"  # the callback's URL was made for an earlier message of this RequestId
    MISMATCHED = "mismatched"  # the report names another SMSID, or another channel's TypeId
    LEFT_TO_RECONCILER = "left to the reconciler"  # a callback for a message accepted without an SMSID


@dataclass(frozen=True)
class FollowUp:
    """When the reconciler should look at a message that waits for its report."""

    reconcile_after_seconds: int

    def check_at(self, now: int) -> int:
        return now + self.reconcile_after_seconds


class DeliveryReports:
    def __init__(
        self,
        store: MessageStore,
        follow_up: FollowUp,
        suppressions: Suppressions,
        pauses: Pauses,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._follow_up = follow_up
        self._suppressions = suppressions
        self._deferrals = Deferrals(store, pauses)
        self._clock = clock

    def apply(
        self, request_id: str, report: DeliveryReport, *, source: str, url_nonce: str | None = None
    ) -> ReportResult:
        """Apply one report to the message it belongs to; `source` names where it came from, and
        `url_nonce` is a callback's (the nonce its signed URL carries)."""
        channels = report_channels(report)
        if not channels:
            return self._unchanged(Written.MISMATCHED)
        match = ReportMatch(report.sms_id, channels, url_nonce)
        now = int(self._clock().timestamp())
        # A report's entry names where it came from unless that is a callback, as most are.
        data = {**history_fields(report), **({} if source == CALLBACK else {"source": source})}
        # The first report of a message whose SMSID we have not heard gives it (a callback only while the
        # message is SENDING or RETRYING: ReportMatch).
        learnt = {"sms_id": report.sms_id, "accepted_at": now}
        target = target_status(report)
        if target is None:
            return self._apply_inconclusive(
                request_id, report, match=match, data=data, learnt=learnt, now=now
            )
        reason = failure_reason(report)
        detail = _describe(report, target, reason)
        fields = {"error": reason} if reason else None
        code = report.error.code if report.error else None
        refusal = classify(code)
        deferred = None
        if target is MessageStatus.FAILED and code is not None and refusal in DEFERRABLE:
            deferred = self._deferrals.apply(request_id, code, detail, match=match, data=data, now=now)
        if deferred is not None:  # Zalo's "not now": the message waits, or its validity ends first
            target, applied = deferred
        elif target is MessageStatus.SENT:
            applied = self._apply_sent(request_id, detail, match=match, data=data, learnt=learnt, now=now)
        else:
            # The person's refusal is remembered from the message as written (its OA, phone, template),
            # and a template Zalo will not take is named.
            wanted = refusal in BY_THE_PERSON or refusal is ZaloRefusal.TEMPLATE_UNAVAILABLE
            item: dict[str, Any] | None = {} if wanted else None
            applied = self._store.transition(
                request_id,
                target,
                detail,
                fields,
                keep_fields=learnt,
                data=data,
                check_at=None,
                match=match,
                written_item=item,
            )
            if applied and item and refusal in BY_THE_PERSON:
                self._suppress(item, report)
            if applied and item and refusal is ZaloRefusal.TEMPLATE_UNAVAILABLE:
                count("ZaloTemplateRefused")
                logger.warning(
                    "Zalo refused the template: not approved, or disabled",
                    extra={"zalo_code": code, "temp_id": item.get("temp_id")},
                )
        if not applied:
            return self._unchanged(applied)
        count(f"Messages{target.value.capitalize()}")
        # A callback's own line ("callback handled") tells as much: one INFO line a callback, not two.
        log = logger.debug if source == CALLBACK else logger.info
        log("delivery report applied", extra={"status": target, "source": source})
        return ReportResult.APPLIED

    def _apply_sent(
        self,
        request_id: str,
        detail: str,
        *,
        match: ReportMatch,
        data: dict[str, str],
        learnt: dict[str, object],
        now: int,
    ) -> Written:
        """SENT keeps the look acceptance set (its waiting-index entry stays as it is: no index write);
        a SENT that proves a message still SENDING or RETRYING accepted sets the first look from now, not
        the look a retry set for its window's end (a second write, on that rare path only)."""
        sent = partial(
            self._store.transition,
            request_id,
            MessageStatus.SENT,
            detail,
            keep_fields=learnt,
            data=data,
            check_at=self._follow_up.check_at(now),
            match=match,
        )
        applied = sent(only_from=ALLOWED_SOURCES[MessageStatus.SENT] - BEFORE_ACCEPTANCE, keep_check_at=True)
        return sent(only_from=BEFORE_ACCEPTANCE) if applied is Written.UNSETTLED else applied

    def _apply_inconclusive(
        self,
        request_id: str,
        report: DeliveryReport,
        *,
        match: ReportMatch,
        data: dict[str, str],
        learnt: dict[str, object],
        now: int,
    ) -> ReportResult:
        """A pending report (SendStatus 1, 2, or one we do not know) proves acceptance, no more."""
        detail = f"eSMS holds it; no final outcome yet (SendStatus {report.send_status})"
        check_at = self._follow_up.check_at(now)
        accepted = self._store.transition(
            request_id,
            MessageStatus.ACCEPTED,
            detail,
            keep_fields=learnt,
            data=data,
            only_from=BEFORE_ACCEPTANCE,
            check_at=check_at,
            match=match,
        )
        if accepted:
            count("MessagesAccepted")
            return ReportResult.APPLIED
        if accepted is not Written.REFUSED:
            return self._unchanged(accepted)
        noted = self._store.note(
            request_id, detail, data, while_in=WAITING_FOR_REPORT, keep_fields=learnt, match=match
        )
        if noted:
            count("ReportsNoted")
            return ReportResult.NOTED
        return self._unchanged(noted)

    def _suppress(self, item: dict[str, Any], report: DeliveryReport) -> None:
        """Remember a ZNS message's refusal by the person (Zalo -141, -139): later messages to them from
        this OA (or of this template) are not sent (zns_relay.sender.suppression)."""
        if item.get("channel", Channel.ZNS.value) != Channel.ZNS.value or report.error is None:
            return
        suppression = suppression_from(
            report.error.code,
            oa_id=item.get("oa_id"),
            phone=item.get("phone"),
            temp_id=item.get("temp_id"),
            request_id=str(item["request_id"]),
            since=iso_time(self._clock()),
        )
        if suppression is not None:
            self._suppressions.record(suppression)
            count("RecipientSuppressed")
            logger.info("recipient suppressed: the person refused", extra={"zalo_code": suppression.code})

    @staticmethod
    def _unchanged(written: Written) -> ReportResult:
        match written:
            case Written.NO_ITEM:
                count("ReportsForUnknownMessages")
                logger.warning("delivery report for a message we do not have")
                return ReportResult.UNKNOWN_MESSAGE
            case Written.STALE_URL:
                count("ReportsOnStaleUrls")
                logger.warning("delivery report refused: its URL was made for an earlier message")
                return ReportResult.STALE_URL
            case Written.MISMATCHED:
                count("ReportsMismatched")
                logger.warning("delivery report refused: another message's SMSID or channel")
                return ReportResult.MISMATCHED
            case Written.UNVOUCHED:
                count("ReportsLeftToReconciler")
                logger.info("callback not applied: its message's SMSID is the reconciler's to find")
                return ReportResult.LEFT_TO_RECONCILER
        count("ReportsUnchanged")
        return ReportResult.UNCHANGED


def _describe(report: DeliveryReport, target: MessageStatus, reason: str | None) -> str:
    if target is MessageStatus.SENT:
        return "sent (SendStatus 7)"
    if target is MessageStatus.DELIVERED:
        return f"delivered (SendStatus 5, SendSuccess {report.send_success})"
    return reason or "delivery failed"
