"""What eSMS's status answers say about a message (pure): the most final of an SMSID's replayed
reports, and whether an answer carries a report to apply."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from zns_relay.models.callback import DeliveryReport, InvalidCallback, parse_delivery_report, target_status
from zns_relay.models.state import MessageStatus
from zns_relay.store.records import WaitingMessage


class NoReport(Enum):
    UNREADABLE = "unreadable"  # it does not parse: it says nothing, as if eSMS had not answered
    NOT_FINAL = "not final"  # eSMS holds no final report (nor a SENT the message lacks)


@dataclass(frozen=True)
class ReportToApply:
    """A report that moves the message to `target`, applied as a callback would be."""

    report: DeliveryReport
    target: MessageStatus


def read_answer(message: WaitingMessage, parameters: dict[str, str]) -> ReportToApply | NoReport:
    report = parsed(parameters)
    if report is None:
        return NoReport.UNREADABLE
    target = target_status(report)
    if target is None or (target is MessageStatus.SENT and message.status is MessageStatus.SENT):
        return NoReport.NOT_FINAL
    return ReportToApply(report, target)


def parsed(parameters: dict[str, str]) -> DeliveryReport | None:
    try:
        return parse_delivery_report(parameters)
    except InvalidCallback:
        return None


def most_final_by_sms_id(answers: Iterable[dict[str, str]]) -> dict[str, dict[str, str]]:
    """One answer per SMSID: eSMS may replay each of a message's callbacks (a 7, then a 5); the one
    that decides the outcome wins (the first of equals)."""
    best: dict[str, dict[str, str]] = {}
    for parameters in answers:
        sms_id = parameters.get("SMSID", "")
        report = parsed(parameters)
        if report is None:
            continue
        if sms_id not in best or finality(report) > finality(parsed(best[sms_id])):
            best[sms_id] = parameters
    return best


def finality(report: DeliveryReport | None) -> int:
    """2: it decides the outcome (DELIVERED, FAILED); 1: SENT; 0: it decides nothing."""
    target = target_status(report) if report is not None else None
    if target in (MessageStatus.DELIVERED, MessageStatus.FAILED):
        return 2
    return 1 if target is MessageStatus.SENT else 0
