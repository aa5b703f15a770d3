"""The reconciler: every message that waits reaches a final status, whether or not eSMS calls back.

It takes what the sparse waiting-index says is due (a Query per shard, never a Scan) and, by status:
- ACCEPTED or SENT with an SMSID: asks eSMS (GetCallback, 200 SMSIDs a call within its 20 calls a
  second; QueryZnsStatus for what GetCallback does not know; GetSendStatus for an SMS fallback) and
  applies a final answer through the same code as a callback; without one, asks again later. It ends
  the message UNKNOWN only on eSMS's word (asked after the report became overdue, 72 hours after
  acceptance by default, eSMS answered without a final report) or past the hard cap of eSMS's 7-day
  memory (zns_relay.reconciler.report_wait); while eSMS cannot be asked, the message waits.
- One that eSMS accepted (or may have) without our learning its SMSID: looks for it in eSMS's list of
  sent messages (zns_relay.reconciler.discovery), then asks about it as above. A list read whole that holds no
  row it could be is eSMS's word that it holds none; one that several rows fit, or that cannot be
  looked up (no phone), has no such word and waits, up to the hard cap.
- DEFERRED (Zalo's "not now", zns_relay.reports.deferral) once its next attempt is due: queues its resend
  on FallbackQueue for the sender, or ends it EXPIRED when its validity passed meanwhile.
- SENDING whose holder died, or RETRYING, after the retry window (no queue delivery will revisit it):
  if an attempt may have reached eSMS, waits for its report like an accepted message (UNKNOWN by the
  same rule); if eSMS certainly refused every attempt, FAILED (or EXPIRED when its validity ended).
A sandbox message is never listed: eSMS keeps no sandbox message, so there is nothing to chase.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import logger
from zns_relay.esms.status import MAX_SMS_IDS_PER_GET_CALLBACK
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.fallback_job import ResendJob
from zns_relay.models.state import Channel, MessageStatus
from zns_relay.reconciler import endings
from zns_relay.reconciler.answers import NoReport, read_answer
from zns_relay.reconciler.discovery import Discovery, SmsIdFinder
from zns_relay.reconciler.endings import Look
from zns_relay.reconciler.outcomes import OutcomeWriter, guarded
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.reconciler.questions import Answer, StatusQuestions, StatusSource
from zns_relay.reconciler.rate_limit import RateLimiter
from zns_relay.reconciler.routing import Route, resend_look, route, settle_unreported
from zns_relay.reconciler.summary import ReconcileSummary
from zns_relay.reports.delivery import DeliveryReports, ReportResult
from zns_relay.store.fallback_queue import FallbackQueue
from zns_relay.store.messages import Clock, MessageStore, utc_now
from zns_relay.store.records import WaitingMessage

# Stop starting work this long before the invocation ends: more than one eSMS call's timeouts.
DEFAULT_MARGIN_SECONDS = 20.0


class Reconciler:
    """Routes each due message (zns_relay.reconciler.routing), asks eSMS about it
    (zns_relay.reconciler.questions) and writes what the answers decide (answers, endings)."""

    def __init__(
        self,
        store: MessageStore,
        status: StatusSource,
        credentials: SecretCache[EsmsCredentials],
        reports: DeliveryReports,
        policy: ReconcilePolicy,
        *,
        resends: FallbackQueue,
        get_callback_limiter: RateLimiter,
        query_status_limiter: RateLimiter,
        finder: SmsIdFinder | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._outcomes = OutcomeWriter(store, policy)
        self._reports = reports
        self._policy = policy
        self._finder = finder
        self._resends = resends
        self._clock = clock
        self._questions = StatusQuestions(
            status,
            credentials,
            get_callback_limiter=get_callback_limiter,
            query_status_limiter=query_status_limiter,
            now=self._now,
        )
        self._time_is_up: Callable[[], bool] = lambda: False

    def run(
        self, seconds_left: Callable[[], float], margin_seconds: float = DEFAULT_MARGIN_SECONDS
    ) -> ReconcileSummary:
        """Handle every due message, or as many as fit before `seconds_left()` drops to the margin
        (the rest stay due for the next run). A message the store fails on is skipped, never the run."""
        summary = ReconcileSummary()
        self._time_is_up = lambda: seconds_left() < margin_seconds
        now = self._now()
        batches: dict[str, list[WaitingMessage]] = defaultdict(list)
        unidentified: list[WaitingMessage] = []
        for message in self._store.due(now):
            if self._time_is_up():
                break
            summary.examined += 1
            guarded(summary, self._route, message, now, batches, unidentified, summary)
        for batch in batches.values():
            self._ask(batch, summary)
        if unidentified and not self._time_is_up():
            batches.clear()
            self._identify(unidentified, batches, now, summary)
            for batch in batches.values():
                self._ask(batch, summary)
        summary.stopped_early = self._time_is_up()
        (logger.info if summary.examined else logger.debug)(
            "reconciler run", extra={"summary": summary.as_dict()}
        )
        return summary

    def _route(
        self,
        message: WaitingMessage,
        now: int,
        batches: dict[str, list[WaitingMessage]],
        unidentified: list[WaitingMessage],
        summary: ReconcileSummary,
    ) -> None:
        match route(message, now, self._policy, can_identify=self._finder is not None):
            case Route.SETTLE:
                self._outcomes.write(message, settle_unreported(message, now, self._policy), summary)
            case Route.END_UNASKED:
                self._outcomes.write(message, endings.unknown(message, self._policy, asked=False), summary)
            case Route.ASK_SMS:
                self._ask_sms(message, summary)
            case Route.ASK_ZNS:
                self._add_to_batch(batches, message, summary)
            case Route.IDENTIFY:
                unidentified.append(message)
            case Route.WAIT:  # nothing to ask eSMS with: it waits, until the cap
                self._outcomes.write(message, endings.recheck(message, now, self._policy), summary)
            case Route.RESEND:
                self._resend(message, now, summary)

    def _resend(self, message: WaitingMessage, now: int, summary: ReconcileSummary) -> None:
        outcome = resend_look(message, now, self._policy)
        if isinstance(outcome, Look):
            self._resends.put(ResendJob(resend=message.request_id))
            summary.resends_queued += 1
        self._outcomes.write(message, outcome, summary)

    def _add_to_batch(
        self, batches: dict[str, list[WaitingMessage]], message: WaitingMessage, summary: ReconcileSummary
    ) -> None:
        batch = batches[message.oa_id or ""]
        batch.append(message)
        if len(batch) == MAX_SMS_IDS_PER_GET_CALLBACK:
            self._ask(batches.pop(message.oa_id or ""), summary)

    def _identify(
        self,
        messages: list[WaitingMessage],
        batches: dict[str, list[WaitingMessage]],
        now: int,
        summary: ReconcileSummary,
    ) -> None:
        """Find the SMSIDs eSMS never told us, record them, and ask about those messages like the rest."""
        assert self._finder is not None
        asked_at = self._now()
        discovery = self._questions.find_sms_ids(self._finder, messages, now, summary, self._time_is_up)
        if discovery is None:  # eSMS's list could not be read: as a failed question, not a "no"
            self._unanswered(messages, summary)
            return
        for message in messages:
            if self._time_is_up():
                return  # the rest stay due for the next run
            guarded(summary, self._identified, message, discovery, asked_at, batches, summary)

    def _identified(
        self,
        message: WaitingMessage,
        discovery: Discovery,
        asked_at: int,
        batches: dict[str, list[WaitingMessage]],
        summary: ReconcileSummary,
    ) -> None:
        """An SMSID found is adopted and asked about; a list read whole holding no row that could be the
        message's is eSMS's answer that it holds no report; otherwise it waits, until the hard cap."""
        sms_id = discovery.found.get(message.request_id)
        assert self._finder is not None  # only its discovery finds an SMSID
        if sms_id is not None and self._finder.adopt(
            message, sms_id, self._now(), self._policy.recheck_seconds
        ):
            summary.sms_ids_found += 1
            adopted = replace(message, sms_id=sms_id, status=MessageStatus.ACCEPTED)
            if adopted.channel is Channel.SMS:  # GetCallback knows ZNS only
                self._ask_sms(adopted, summary)
            else:
                self._add_to_batch(batches, adopted, summary)
        elif message.request_id in discovery.absent:
            self._no_final_report(message, asked_at, summary)
        else:
            self._outcomes.write(message, endings.recheck(message, self._now(), self._policy), summary)

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def _ask(self, batch: list[WaitingMessage], summary: ReconcileSummary) -> None:
        """GetCallback for a batch of one OA's messages; QueryZnsStatus for SMSIDs it does not know.
        A batch the time left cannot cover stays due, unasked."""
        if not batch or self._time_is_up():
            return
        by_sms_id = {message.sms_id: message for message in batch if message.sms_id}
        answers = self._questions.get_callbacks(list(by_sms_id), batch[0].oa_id or "", summary)
        if answers is None:
            self._unanswered(batch, summary)
            return
        for sms_id, message in by_sms_id.items():
            if sms_id in answers:
                guarded(summary, self._take, message, answers[sms_id], summary)
            elif not self._time_is_up():
                answer = self._questions.zns_status(sms_id, summary)
                guarded(summary, self._take_or_wait, message, answer, summary)

    def _ask_sms(self, message: WaitingMessage, summary: ReconcileSummary) -> None:
        if not self._time_is_up():
            self._take_or_wait(message, self._questions.sms_status(message.sms_id or "", summary), summary)

    def _take_or_wait(
        self, message: WaitingMessage, answer: Answer | None, summary: ReconcileSummary
    ) -> None:
        if answer is None:
            self._unanswered([message], summary)
        else:
            self._take(message, answer, summary)

    def _take(self, message: WaitingMessage, answer: Answer, summary: ReconcileSummary) -> None:
        """Apply a final answer as a callback would be; one without only moves the next look (or, asked
        past the deadline, ends the message UNKNOWN); one that does not parse says nothing."""
        if answer.parameters is None:  # eSMS holds nothing for its SMSID
            self._no_final_report(message, answer.asked_at, summary)
            return
        reading = read_answer(message, answer.parameters)
        if reading is NoReport.UNREADABLE:
            logger.warning("eSMS's status answer does not parse", extra={"source": answer.source})
            self._outcomes.write(message, endings.recheck(message, self._now(), self._policy), summary)
        elif reading is NoReport.NOT_FINAL:
            self._no_final_report(message, answer.asked_at, summary)
        else:
            result = self._reports.apply(message.request_id, reading.report, source=answer.source)
            if result is ReportResult.APPLIED:
                summary.applied += 1
                summary.ended[reading.target.value] += 1
                if reading.target is MessageStatus.SENT:  # still waiting for its final report
                    sent = replace(message, status=MessageStatus.SENT)
                    self._outcomes.write(sent, endings.recheck(sent, self._now(), self._policy), summary)
            elif result is ReportResult.MISMATCHED:  # eSMS's answer is about another message: none yet
                self._no_final_report(message, self._now(), summary)

    def _no_final_report(self, message: WaitingMessage, asked_at: int, summary: ReconcileSummary) -> None:
        outcome = endings.after_no_final_report(message, asked_at, self._now(), self._policy)
        self._outcomes.write(message, outcome, summary)

    def _unanswered(self, batch: Sequence[WaitingMessage], summary: ReconcileSummary) -> None:
        self._outcomes.unanswered(batch, self._now(), self._time_is_up, summary)
