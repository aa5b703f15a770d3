"""Every timing the relay's reliability rests on, and every relation between them, checked in one place.

The timings come from template.yaml as the functions will read them (the settings each function
parses from its environment, the queues' properties, the parameters), with a local stack's scaled
overrides where it has them. `RELATIONS` are what the template and the design rely on, each with why.
tests/unit/test_timings.py checks them for the template's defaults and every corner of its parameters'
allowed ranges; a local stack (`python -m local up`, the demo, the soak, the end-to-end tests) checks
its own scaled set before it starts, and refuses to start with a broken one, naming each broken relation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from local.runtime.template import FunctionSpec, Template
from zns_relay.config.settings import ReconcilerSettings, SenderSettings
from zns_relay.reconciler.discovery import DUPLICATE_MEMORY_SECONDS
from zns_relay.reconciler.report_wait import ESMS_STATUS_MEMORY_SECONDS
from zns_relay.sender.backoff import most_receives
from zns_relay.sender.sender import LEASE_MARGIN_SECONDS

_RATE = re.compile(r"rate\((\d+) (minute|hour|day)s?\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
Settings = TypeVar("Settings", SenderSettings, ReconcilerSettings)


class BrokenTimings(ValueError):
    """A set of timings that breaks relations the relay relies on."""


@dataclass(frozen=True)
class Timings:
    """In seconds."""

    sender_timeout: int  # SenderFunction's Timeout
    queue_visibility: Mapping[str, int]  # the VisibilityTimeout of each queue SenderFunction reads
    queue_retention: int  # the shortest MessageRetentionPeriod of those queues
    max_receive_count: int  # their redrive policy's
    retry_window: int
    retry_base: int
    retry_max: int  # the longest retry delay
    min_seconds_to_send: float  # a sender claims nothing with less of its invocation left
    sender_abandon: int  # past its window plus this, a message no delivery revisits is the reconciler's
    reconciler_abandon: int
    reconcile_every: float  # ReconcilerFunction's schedule
    reconcile_after: int  # the first question to eSMS about an accepted message
    recheck: int
    unknown_after: int  # a report this late is overdue: UNKNOWN once eSMS, asked, has none
    unknown_cap: int  # past this, UNKNOWN unasked
    item_retention: int  # MessagesTable's TTL (RetentionDays)

    @property
    def lease(self) -> int:
        """The longest a sender's claim holds a message: its invocation, and a margin."""
        return self.sender_timeout + LEASE_MARGIN_SECONDS

    @property
    def shortest_visibility(self) -> int:
        return min(self.queue_visibility.values())

    @property
    def longest_visibility(self) -> int:
        return max(self.queue_visibility.values())


@dataclass(frozen=True)
class Relation:
    statement: str
    why: str
    holds: Callable[[Timings], bool]
    numbers: Callable[[Timings], str]  # the values it compares, for the refusal
    aws_only: bool = False  # about AWS's own machinery, which the local stack does not play


RELATIONS = (
    Relation(
        "the queues' visibility timeout outlasts a sender's claim (its invocation and lease)",
        "a killed sender's record comes back only once its claim can be taken over",
        lambda t: t.shortest_visibility >= t.lease,
        lambda t: f"visibility {dict(t.queue_visibility)} s, lease {t.lease} s",
    ),
    Relation(
        "the queues' visibility timeout is at least six times SenderFunction's timeout",
        "AWS's advice for SQS event sources: room for Lambda to retry a batch it was throttled on",
        lambda t: t.shortest_visibility >= 6 * t.sender_timeout,
        lambda t: f"visibility {dict(t.queue_visibility)} s, timeout {t.sender_timeout} s",
        aws_only=True,
    ),
    Relation(
        "a sender's invocation leaves time to send",
        "with less left than a send may take (the eSMS timeouts, twice) every record is handed back",
        lambda t: t.sender_timeout > t.min_seconds_to_send,
        lambda t: f"timeout {t.sender_timeout} s, needed {t.min_seconds_to_send:g} s",
    ),
    Relation(
        "the abandon delay exceeds the queues' visibility timeout",
        "a record received at its window's end whose sender died comes back before the reconciler"
        " gives its message up (FAILED, or waiting unsent)",
        lambda t: min(t.sender_abandon, t.reconciler_abandon) > t.longest_visibility,
        lambda t: f"abandon {t.sender_abandon} s, visibility {dict(t.queue_visibility)} s",
    ),
    Relation(
        "the abandon delay exceeds the longest retry delay",
        "a record handed back near its window's end comes back before the reconciler gives it up",
        lambda t: min(t.sender_abandon, t.reconciler_abandon) > t.retry_max,
        lambda t: f"abandon {t.sender_abandon} s, longest retry delay {t.retry_max} s",
    ),
    Relation(
        "the sender and the reconciler use one abandon delay",
        "the sender schedules the reconciler's look at a message by it",
        lambda t: t.sender_abandon == t.reconciler_abandon,
        lambda t: f"sender {t.sender_abandon} s, reconciler {t.reconciler_abandon} s",
    ),
    Relation(
        "a killed attempt comes back, and is retried, inside its retry window",
        "a message whose sender died before the POST, or during a retry, is still sent",
        lambda t: t.longest_visibility + t.retry_max < t.retry_window,
        lambda t: (
            f"visibility {t.longest_visibility} s + retry delay {t.retry_max} s, window {t.retry_window} s"
        ),
    ),
    Relation(
        "the retry window lasts at least ten visibility timeouts",
        "a message whose sender is killed again and again (a killed invocation's whole batch comes back"
        " together, and may meet another crash) is still sent inside its window (deployed: an hour at"
        " least, against six minutes)",
        lambda t: t.retry_window >= 10 * t.longest_visibility,
        lambda t: f"window {t.retry_window} s, visibility {t.longest_visibility} s",
    ),
    Relation(
        "the retry window ends within eSMS's 24-hour memory of a RequestId",
        "eSMS's 124 answer to a repeated RequestId is what makes every retry safe",
        lambda t: t.retry_window < DUPLICATE_MEMORY_SECONDS,
        lambda t: f"window {t.retry_window} s",
    ),
    Relation(
        "the retry window ends before maxReceiveCount receives",
        "the window, not the DLQ, ends a message's retries (failing every receive, with the shortest"
        " backoff delays)",
        lambda t: (
            (most_receives(t.retry_window, t.retry_base, t.retry_max) or t.max_receive_count)
            < t.max_receive_count
        ),
        lambda t: (
            f"{most_receives(t.retry_window, t.retry_base, t.retry_max)} receives,"
            f" maxReceiveCount {t.max_receive_count}"
        ),
    ),
    Relation(
        "the queues keep a record past its window and the abandon delay",
        "a record waiting to be retried is never dropped by SQS",
        lambda t: t.queue_retention > t.retry_window + t.sender_abandon,
        lambda t: f"retention {t.queue_retention} s, window and delay {t.retry_window + t.sender_abandon} s",
    ),
    Relation(
        "a message's item outlives the queues' copy of it",
        "a late redrive or a producer's retry always finds the item, and never sends it again",
        lambda t: t.item_retention > t.queue_retention,
        lambda t: f"item {t.item_retention} s, queue {t.queue_retention} s",
    ),
    Relation(
        "a message's item outlives its wait for a report",
        "the reconciler ends every waiting message before DynamoDB's TTL removes it",
        lambda t: t.item_retention > t.unknown_cap,
        lambda t: f"item {t.item_retention} s, cap {t.unknown_cap} s",
    ),
    Relation(
        "the first question to eSMS comes no later than the report's deadline",
        "a message ends UNKNOWN only when eSMS was asked after its deadline, or at the cap",
        lambda t: t.reconcile_after <= t.unknown_after,
        lambda t: f"first question {t.reconcile_after} s, deadline {t.unknown_after} s",
    ),
    Relation(
        "the UNKNOWN cap leaves room for a question, and a recheck, past the deadline",
        "eSMS is asked after the deadline (at the next run) before the cap ends a message unasked",
        lambda t: t.unknown_after + t.recheck + t.reconcile_every <= t.unknown_cap,
        lambda t: (
            f"deadline {t.unknown_after} s + recheck {t.recheck} s + schedule"
            f" {t.reconcile_every:g} s, cap {t.unknown_cap} s"
        ),
    ),
    Relation(
        "the UNKNOWN cap leaves room for a question past the window of a message possibly accepted",
        "a message whose attempts may have reached eSMS is asked about once its window and the abandon"
        " delay are over, before the cap ends it unasked",
        lambda t: t.retry_window + t.sender_abandon + t.recheck + t.reconcile_every <= t.unknown_cap,
        lambda t: (
            f"window {t.retry_window} s + abandon {t.sender_abandon} s + recheck {t.recheck} s"
            f" + schedule {t.reconcile_every:g} s, cap {t.unknown_cap} s"
        ),
    ),
    Relation(
        "the UNKNOWN cap is no longer than eSMS keeps a message's status (7 days)",
        "past that no answer could hold a report",
        lambda t: t.unknown_cap <= ESMS_STATUS_MEMORY_SECONDS,
        lambda t: f"cap {t.unknown_cap} s",
    ),
    Relation(
        "the reconciler runs at least once per recheck interval",
        "a message due is asked within a recheck interval",
        lambda t: t.reconcile_every <= t.recheck,
        lambda t: f"schedule {t.reconcile_every:g} s, recheck {t.recheck} s",
    ),
)


def broken(timings: Timings, *, local: bool) -> list[str]:
    """Each relation the timings break, with its numbers and why it matters."""
    return [
        f"{relation.statement} ({relation.numbers(timings)}): {relation.why}"
        for relation in RELATIONS
        if not (local and relation.aws_only) and not relation.holds(timings)
    ]


def check(timings: Timings, *, local: bool) -> None:
    """BrokenTimings naming every broken relation (`local`: leave out those about AWS's machinery)."""
    failures = broken(timings, local=local)
    if failures:
        raise BrokenTimings(
            "timings break what the relay relies on:\n" + "\n".join(f"- {f}" for f in failures)
        )


def from_template(
    template: Template,
    parameters: Mapping[str, str] | None = None,
    function_overrides: Mapping[str, str] | None = None,
    schedule_seconds: float | None = None,
) -> Timings:
    """The timings a deployment of `template` (with these parameters) has, or a local stack of it with
    these environment overrides and schedule period."""
    values = {**template.parameter_defaults(), **(parameters or {})}
    overrides = function_overrides or {}
    sender_spec = template.function("SenderFunction")
    sender = _settings(SenderSettings, sender_spec, values, overrides)
    reconciler_spec = template.function("ReconcilerFunction")
    reconciler = _settings(ReconcilerSettings, reconciler_spec, values, overrides)
    queues = {
        queue: template.resources[queue]["Properties"]
        for queue in (
            event["Properties"]["Queue"]["Fn::GetAtt"][0]
            for event in sender_spec.events.values()
            if event["Type"] == "SQS"
        )
    }
    [schedule] = [event for event in reconciler_spec.events.values() if event["Type"] == "Schedule"]
    return Timings(
        sender_timeout=sender_spec.timeout_seconds,
        queue_visibility={name: int(queue["VisibilityTimeout"]) for name, queue in queues.items()},
        queue_retention=min(int(queue["MessageRetentionPeriod"]) for queue in queues.values()),
        max_receive_count=min(
            int(_value(queue["RedrivePolicy"]["maxReceiveCount"], values)) for queue in queues.values()
        ),
        retry_window=sender.retry_window_seconds,
        retry_base=sender.retry_base_seconds,
        retry_max=sender.retry_max_seconds,
        min_seconds_to_send=sender.min_seconds_to_send,
        sender_abandon=sender.abandon_after_seconds,
        reconciler_abandon=reconciler.abandon_after_seconds,
        reconcile_every=(
            schedule_seconds
            if schedule_seconds is not None
            else rate_seconds(str(_value(schedule["Properties"]["Schedule"], values)))
        ),
        reconcile_after=sender.reconcile_after_seconds,
        recheck=reconciler.recheck_seconds,
        unknown_after=reconciler.unknown_after_seconds,
        unknown_cap=reconciler.unknown_cap_seconds,
        item_retention=sender.retention_days * 86400,
    )


def rate_seconds(expression: str) -> int:
    """An EventBridge rate expression's period: rate(5 minutes) is 300."""
    match = _RATE.fullmatch(expression)
    if match is None:
        raise ValueError(f"not a rate expression: {expression}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _settings(
    kind: type[Settings], spec: FunctionSpec, parameters: Mapping[str, str], overrides: Mapping[str, str]
) -> Settings:
    """The function's settings as it parses them from its environment: the literal values and those of
    parameters, the overrides; the names of resources (no timing depends on one) as placeholders."""
    placeholders = {
        field.alias: "-" for field in kind.model_fields.values() if field.is_required() and field.alias
    }
    resolved = {name: _value(value, parameters) for name, value in spec.environment.items()}
    environment = {name: str(value) for name, value in resolved.items() if not isinstance(value, dict)}
    return kind.from_environment({**placeholders, **environment, **overrides})


def _value(value: Any, parameters: Mapping[str, str]) -> Any:
    """A parameter's value for a Ref to it; any other intrinsic function as it is; a literal as it is."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    return value
