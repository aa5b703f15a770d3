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
- SENDING whose holder died, or RETRYING, after the retry window (no queue delivery will revisit it):
  if an attempt may have reached eSMS, waits for its report like an accepted message (UNKNOWN by the
  same rule); if eSMS certainly refused every attempt, FAILED (or EXPIRED when its validity ended).
A sandbox message is never listed: eSMS keeps no sandbox message, so there is nothing to chase.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.config.credentials import SecretCache
from zns_relay.config.observability import count, logger
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.esms.status import (
    MAX_SMS_IDS_PER_GET_CALLBACK,
    NOT_FOUND_CODES,
    ZNS_SMS_TYPES,
)
from zns_relay.models.callback import (
    DeliveryReport,
    InvalidCallback,
    parse_delivery_report,
    target_status,
)
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials
from zns_relay.models.state import Channel, MessageStatus
from zns_relay.reconciler.discovery import Discovery, SmsIdFinder
from zns_relay.reconciler.rate_limit import RateLimiter
from zns_relay.reconciler.report_wait import ESMS_STATUS_MEMORY_SECONDS, ReportWait
from zns_relay.reports.delivery import WAITING_FOR_REPORT, DeliveryReports, ReportResult
from zns_relay.store.messages import Clock, MessageStore, WaitingMessage, utc_now

# Stop starting work this long before the invocation ends: more than one eSMS call's timeouts.
DEFAULT_MARGIN_SECONDS = 20.0
STORE_ERRORS = (ClientError, BotoCoreError)


def duration_text(seconds: int) -> str:
    """72 h, 30 min, 36 s: the largest whole unit."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


class StatusSource(Protocol):
    def get_callbacks(
        self, sms_ids: Sequence[str], oa_id: str, credentials: EsmsCredentials
    ) -> list[dict[str, str]]: ...

    def query_zns_status(
        self, sms_id: str, sms_type: str, credentials: EsmsCredentials
    ) -> dict[str, str]: ...

    def send_status(self, sms_id: str, credentials: EsmsCredentials) -> dict[str, str]: ...


@dataclass(frozen=True)
class ReconcilePolicy:
    unknown_after_seconds: int  # a report this overdue (from acceptance) will not come: UNKNOWN
    recheck_seconds: int  # ask eSMS again this long after an inconclusive answer
    abandon_after_seconds: int  # past its retry window plus this, no queue delivery revisits a message
    # Past this long after acceptance a message ends UNKNOWN unasked: eSMS keeps no status that old.
    unknown_cap_seconds: int = ESMS_STATUS_MEMORY_SECONDS


@dataclass
class ReconcileSummary:
    """What one run did; logged, and the metrics' source."""

    examined: int = 0
    asked: int = 0
    get_callback_calls: int = 0
    query_status_calls: int = 0
    applied: int = 0
    ended: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rescheduled: int = 0
    sms_ids_found: int = 0
    answers: int = 0  # questions eSMS's status endpoints answered (a "not found" too)
    query_failures: int = 0  # questions they could not take: failed, or not put (configuration)
    store_errors: int = 0
    stopped_early: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "examined": self.examined,
            "asked": self.asked,
            "get_callback_calls": self.get_callback_calls,
            "query_status_calls": self.query_status_calls,
            "applied": self.applied,
            "ended": dict(self.ended),
            "rescheduled": self.rescheduled,
            "sms_ids_found": self.sms_ids_found,
            "answers": self.answers,
            "query_failures": self.query_failures,
            "store_errors": self.store_errors,
            "stopped_early": self.stopped_early,
        }

    @property
    def esms_unreachable(self) -> bool | None:
        """Every question this run put to eSMS's status endpoints failed (None: it asked none)."""
        if not self.answers and not self.query_failures:
            return None
        return not self.answers


class Reconciler:
    def __init__(
        self,
        store: MessageStore,
        status: StatusSource,
        credentials: SecretCache[EsmsCredentials],
        reports: DeliveryReports,
        policy: ReconcilePolicy,
        *,
        get_callback_limiter: RateLimiter,
        query_status_limiter: RateLimiter,
        finder: SmsIdFinder | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._status = status
        self._credentials = credentials
        self._reports = reports
        self._policy = policy
        self._get_callback_limiter = get_callback_limiter
        self._query_status_limiter = query_status_limiter
        self._finder = finder
        self._clock = clock
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
            self._guarded(summary, self._route, message, now, batches, unidentified, summary)
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
        if not self._may_hold_report(message, now):
            self._settle_unreported(message, now, summary)
        elif self._wait(message).ends_unasked(now):
            self._end_unknown(message, summary, asked=False)
        elif message.sms_id and message.channel is Channel.SMS:
            self._ask_sms(message, summary)
        elif message.sms_id:
            self._add_to_batch(batches, message, summary)
        elif self._finder is not None:
            unidentified.append(message)
        else:
            self._recheck(message, now, summary)  # nothing to ask eSMS with: it waits, until the cap

    @staticmethod
    def _guarded(summary: ReconcileSummary, action: Callable[..., object], *arguments: object) -> None:
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

    def _may_hold_report(self, message: WaitingMessage, now: int) -> bool:
        """eSMS may hold a report for it: accepted, or possibly accepted with its retry window over."""
        if message.status in WAITING_FOR_REPORT:
            return True
        window_end = (message.retry_until or 0) + self._policy.abandon_after_seconds
        return (
            message.status is MessageStatus.RETRYING
            and message.uncertain_since is not None
            and now >= window_end
        )

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
        try:
            discovery = self._finder.find(messages, self._credentials.get(), now, time_is_up=self._time_is_up)
        except ConfigurationError as error:
            logger.error("cannot ask eSMS: configuration", extra={"reason": str(error)})
            discovery = None
        if discovery is None:  # eSMS's list could not be read: as a failed question, not a "no"
            self._unanswered(messages, summary)
            return
        if discovery.looked_up:
            summary.answers += 1
        for message in messages:
            if self._time_is_up():
                return  # the rest stay due for the next run
            self._guarded(summary, self._identified, message, discovery, asked_at, batches, summary)

    def _identified(
        self,
        message: WaitingMessage,
        discovery: Discovery,
        asked_at: int,
        batches: dict[str, list[WaitingMessage]],
        summary: ReconcileSummary,
    ) -> None:
        """eSMS's list was read whole: an SMSID found is adopted and asked about; a list holding no row
        that could be the message's is eSMS's answer that it holds no report. A message several rows fit,
        or not looked up (no phone), has no answer from eSMS: it waits, until the hard cap."""
        sms_id = discovery.found.get(message.request_id)
        if sms_id is not None and self._adopt(message, sms_id, self._now()):
            summary.sms_ids_found += 1
            adopted = replace(message, sms_id=sms_id, status=MessageStatus.ACCEPTED)
            if adopted.channel is Channel.SMS:  # GetCallback knows ZNS only
                self._ask_sms(adopted, summary)
            else:
                self._add_to_batch(batches, adopted, summary)
        elif message.request_id in discovery.absent:
            self._inconclusive(message, asked_at, summary)
        else:
            self._recheck(message, self._now(), summary)

    def _adopt(self, message: WaitingMessage, sms_id: str, now: int) -> bool:
        """Record an SMSID found in eSMS's list: proof, too, that eSMS accepted the message."""
        data = {"sms_id": sms_id, "source": "GetSmsSentData_V2"}
        if message.status is MessageStatus.RETRYING:
            return bool(
                self._store.transition(
                    message.request_id,
                    MessageStatus.ACCEPTED,
                    "eSMS holds it: found in its list of sent messages",
                    keep_fields={"sms_id": sms_id, "accepted_at": now},
                    data=data,
                    only_from=frozenset({MessageStatus.RETRYING}),
                    check_at=now + self._policy.recheck_seconds,
                )
            )
        return bool(
            self._store.note(
                message.request_id,
                "SMSID found in eSMS's list of sent messages",
                data,
                while_in=frozenset({message.status}),
                keep_fields={"sms_id": sms_id},
            )
        )

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def _wait(self, message: WaitingMessage) -> ReportWait:
        start = message.accepted_at or message.uncertain_since or message.lease_until or message.check_at
        return ReportWait(
            start,
            self._policy.unknown_after_seconds,
            self._policy.unknown_cap_seconds,
            self._policy.recheck_seconds,
        )

    def _settle_unreported(self, message: WaitingMessage, now: int, summary: ReconcileSummary) -> None:
        """A message no report is expected for (yet), which needs no question to eSMS: one still in its
        retry window waits for it to end; past it, one left mid-send waits for a report, and one eSMS
        certainly refused every time is given up."""
        window_end = (message.retry_until or 0) + self._policy.abandon_after_seconds
        if now < max(window_end, message.lease_until or 0):
            self._reschedule(message, max(window_end, message.lease_until or 0), summary)
        elif message.status is MessageStatus.SENDING:
            self._abandon_mid_send(message, now, summary)
        else:
            self._end_refused(message, summary)

    def _ask(self, batch: list[WaitingMessage], summary: ReconcileSummary) -> None:
        """GetCallback for a batch of one OA's messages; QueryZnsStatus for SMSIDs it does not know.
        A batch the time left cannot cover stays due, unasked."""
        if not batch or self._time_is_up():
            return
        try:
            credentials = self._credentials.get()
        except ConfigurationError as error:
            logger.error("cannot ask eSMS: configuration", extra={"reason": str(error)})
            self._unanswered(batch, summary)
            return
        by_sms_id = {message.sms_id: message for message in batch if message.sms_id}
        self._get_callback_limiter.acquire()
        summary.get_callback_calls += 1
        summary.asked += len(by_sms_id)
        asked_at = self._now()
        try:
            answers = self._status.get_callbacks(list(by_sms_id), batch[0].oa_id or "", credentials)
        except EsmsQueryFailed as error:
            logger.warning("GetCallback failed; asking again later", extra={"reason": str(error)})
            self._unanswered(batch, summary)
            return
        summary.answers += 1
        best = _most_final_by_sms_id(answers)
        for sms_id, message in by_sms_id.items():
            if sms_id in best:
                self._guarded(summary, self._apply, message, best[sms_id], "GetCallback", asked_at, summary)
            elif not self._time_is_up():
                self._guarded(summary, self._query_one, message, credentials, summary)

    def _ask_sms(self, message: WaitingMessage, summary: ReconcileSummary) -> None:
        """An SMS fallback: GetCallback and QueryZnsStatus know ZNS only; GetSendStatus knows it."""
        if self._time_is_up():
            return
        self._query_status_limiter.acquire()
        summary.query_status_calls += 1
        asked_at = self._now()
        try:
            parameters = self._status.send_status(message.sms_id or "", self._credentials.get())
        except EsmsQueryFailed as error:
            if error.code in NOT_FOUND_CODES:  # eSMS's word: it holds nothing for this SMSID
                summary.answers += 1
                self._inconclusive(message, asked_at, summary)
                return
            logger.info("GetSendStatus failed; asking again later", extra={"reason": str(error)})
            self._unanswered([message], summary)
            return
        except ConfigurationError as error:
            logger.error("cannot ask eSMS: configuration", extra={"reason": str(error)})
            self._unanswered([message], summary)
            return
        summary.answers += 1
        self._apply(message, parameters, "GetSendStatus", asked_at, summary)

    def _query_one(
        self, message: WaitingMessage, credentials: EsmsCredentials, summary: ReconcileSummary
    ) -> None:
        """QueryZnsStatus wants the message's type: an ordinary ZNS first, then a priority (OTP) one."""
        asked_at = self._now()
        for sms_type in ZNS_SMS_TYPES:
            self._query_status_limiter.acquire()
            summary.query_status_calls += 1
            try:
                parameters = self._status.query_zns_status(message.sms_id or "", sms_type, credentials)
            except EsmsQueryFailed as error:
                if error.code in NOT_FOUND_CODES:
                    continue
                logger.info("QueryZnsStatus failed; asking again later", extra={"reason": str(error)})
                self._unanswered([message], summary)
                return
            summary.answers += 1
            self._apply(message, parameters, "QueryZnsStatus", asked_at, summary)
            return
        summary.answers += 1
        self._inconclusive(message, asked_at, summary)  # eSMS knows it under neither type

    def _apply(
        self,
        message: WaitingMessage,
        parameters: dict[str, str],
        source: str,
        asked_at: int,
        summary: ReconcileSummary,
    ) -> None:
        """Apply a final answer as a callback would be; an answer without one only moves the next look
        (or, asked past the deadline, ends the message UNKNOWN). An answer that does not parse says
        nothing: the message waits as if eSMS had not answered."""
        report = _parsed(parameters)
        if report is None:
            logger.warning("eSMS's status answer does not parse", extra={"source": source})
            self._recheck(message, self._now(), summary)
            return
        target = target_status(report)
        if target is None or (target is MessageStatus.SENT and message.status is MessageStatus.SENT):
            self._inconclusive(message, asked_at, summary)
            return
        result = self._reports.apply(message.request_id, report, source=source)
        if result is ReportResult.APPLIED:
            summary.applied += 1
            summary.ended[target.value] += 1
            if target is MessageStatus.SENT:  # still waiting for its final report: the next look
                self._recheck(replace(message, status=MessageStatus.SENT), self._now(), summary)
        elif result is ReportResult.MISMATCHED:  # eSMS's answer is about another message: none yet
            self._inconclusive(message, self._now(), summary)

    def _unanswered(self, batch: Sequence[WaitingMessage], summary: ReconcileSummary) -> None:
        """eSMS could not be asked about these: each waits, overdue or not, and is looked at again later;
        once the run's time is up the rest simply stay due (a slow store must not run the function into
        its timeout)."""
        summary.query_failures += 1
        now = self._now()
        overdue = 0
        for message in batch:
            if self._time_is_up():
                break
            overdue += self._wait(message).overdue(now)
            self._guarded(summary, self._recheck, message, now, summary)
        if overdue:
            logger.warning(
                "eSMS's status endpoints cannot be asked: overdue messages wait", extra={"overdue": overdue}
            )

    def _inconclusive(self, message: WaitingMessage, asked_at: int, summary: ReconcileSummary) -> None:
        """eSMS, asked at `asked_at`, holds no final report: UNKNOWN if asked past the deadline, else
        look again later."""
        if self._wait(message).ends_on_answer(asked_at):
            self._end_unknown(message, summary, asked=True)
        else:
            self._recheck(message, self._now(), summary)

    def _recheck(self, message: WaitingMessage, now: int, summary: ReconcileSummary) -> None:
        self._reschedule(message, self._wait(message).next_look(now), summary)

    def _reschedule(self, message: WaitingMessage, check_at: int, summary: ReconcileSummary) -> None:
        if self._store.reschedule(message.request_id, check_at, while_in=frozenset({message.status})):
            summary.rescheduled += 1

    def _end_unknown(self, message: WaitingMessage, summary: ReconcileSummary, *, asked: bool) -> None:
        if not asked:
            cap = duration_text(self._policy.unknown_cap_seconds)
            detail = (
                f"no final delivery report within {cap} (as long as eSMS keeps a message's status), and"
                " no answer from eSMS since the report was due"
            )
        elif message.status in WAITING_FOR_REPORT:
            overdue = duration_text(self._policy.unknown_after_seconds)
            detail = f"no final delivery report within {overdue} of acceptance, though eSMS was asked"
        else:
            overdue = duration_text(self._policy.unknown_after_seconds)
            detail = f"eSMS may have accepted it, but no delivery report came within {overdue}"
        self._end(message, MessageStatus.UNKNOWN, detail, summary)

    def _end_refused(self, message: WaitingMessage, summary: ReconcileSummary) -> None:
        """A RETRYING message past its window that no delivery revisits, refused by eSMS every time."""
        if message.valid_until is not None and message.valid_until <= (message.retry_until or 0):
            status = MessageStatus.EXPIRED
            detail = "not sent: its validity (ValidUntil) passed before eSMS accepted it"
        else:
            status = MessageStatus.FAILED
            detail = "gave up: the retry window is over and no queue delivery is left to retry it"
        self._end(message, status, detail, summary)

    def _end(
        self, message: WaitingMessage, status: MessageStatus, detail: str, summary: ReconcileSummary
    ) -> None:
        if self._store.transition(
            message.request_id,
            status,
            detail,
            {"error": detail},
            only_from=frozenset({message.status}),
        ):
            summary.ended[status.value] += 1
            count(f"Messages{status.value.capitalize()}")
            logger.warning(f"message {status.value.lower()}", extra={"request_id": message.request_id})

    def _abandon_mid_send(self, message: WaitingMessage, now: int, summary: ReconcileSummary) -> None:
        """Its holder died mid-send and nothing will retry it: it may have reached eSMS, so it waits."""
        detail = "its sender stopped mid-send and no queue delivery is left; it may have reached eSMS"
        if self._store.transition(
            message.request_id,
            MessageStatus.RETRYING,
            detail,
            {"error": detail},
            keep_fields={"uncertain_since": message.lease_until or now},
            only_from=frozenset({MessageStatus.SENDING}),
            lease_expired_by=now,
            check_at=now + self._policy.recheck_seconds,
        ):
            summary.rescheduled += 1
            count("MessagesAbandonedMidSend")


def _parsed(parameters: dict[str, str]) -> DeliveryReport | None:
    try:
        return parse_delivery_report(parameters)
    except InvalidCallback:
        return None


def _most_final_by_sms_id(answers: Iterable[dict[str, str]]) -> dict[str, dict[str, str]]:
    """One answer per SMSID: eSMS may replay each of a message's callbacks (a 7, then a 5); the one
    that decides the outcome wins."""
    best: dict[str, dict[str, str]] = {}
    for parameters in answers:
        sms_id = parameters.get("SMSID", "")
        report = _parsed(parameters)
        if report is None:
            continue
        if sms_id not in best or _finality(report) > _finality(_parsed(best[sms_id])):
            best[sms_id] = parameters
    return best


def _finality(report: DeliveryReport | None) -> int:
    target = target_status(report) if report is not None else None
    if target in (MessageStatus.DELIVERED, MessageStatus.FAILED):
        return 2
    return 1 if target is MessageStatus.SENT else 0
