"""Cost per million messages on AWS, from what the benchmark counted and bench/prices.toml.

Per message on the happy path: the producer's SendMessage and the event source's receive and delete
(a batch of ten each); a tenth of a sender invocation; each callback an HTTP API request and a callback
invocation; the DynamoDB units bench/capacity.py counted; the item and the index entries it keeps once
final stored for RetentionDays, the item under point-in-time recovery (continuous backups are billed on
the table's size, not its indexes'); every byte the functions logged, Lambda's own lines and
the HTTP API's access log line; the traces X-Ray's default sampling keeps; projected for the
outcome-events branch, an EventBridge event per status change; and, projected for a message that names
an SMS Fallback (an OTP), the KMS request that seals its text (its Decrypt comes only with an SMS sent,
a cost of the SMS).

Durations on Lambda: a function gets a share of a vCPU in proportion to its memory (1,769 MB: one
vCPU), and CPU time measured here is taken as Graviton's. The sender is billed for the worst case the
defaults allow: a steady backlog at EsmsRateLimit shared by MaxConcurrency environments, each then busy
pacing itself all the time; with full batches and no pacing an invocation lasts an eSMS round trip and
two DynamoDB round trips plus the batch's CPU time.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.runtime.template import Template

PRICES = Path(__file__).resolve().parent / "prices.toml"
VCPU_MB = 1769  # Lambda: memory at which a function has one full vCPU
ESMS_ROUND_TRIP_S = 0.100  # the reference latency
DYNAMODB_ROUND_TRIP_S = 0.008  # a conditional UpdateItem from Lambda in the same region
PLATFORM_LOG_BYTES = 300  # Lambda's START, END and REPORT lines of one invocation
SAMPLED = 0.05  # X-Ray's default rule beyond its one trace a second
STATUS_EVENTS = 4  # SENDING, ACCEPTED, SENT, DELIVERED: one outcome event each (projected)
FALLBACK_SEALS = 1  # a message with a Fallback seals its SMS text once a send attempt (projected)
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each stored item and index entry
# The indexes a final message stays in for its retention (the waiting-index lists only waiting ones).
LASTING_INDEXES = ("sms_id-index", "phone-index", "campaign-index", "status-index")
MEMORY_SIZES = (128, 256, 512, 1024)
INIT_LIMIT_S = 10.0  # Lambda's init phase limit


def prices() -> dict[str, dict[str, Any]]:
    return tomllib.loads(PRICES.read_text())


def price(name: str) -> float:
    return float(prices()[name]["price"])


@dataclass(frozen=True)
class Inputs:
    """What the other benchmarks measured, per message or per callback."""

    sender_cpu_ms: float
    sender_log_bytes: float
    init_cpu_s: float  # the sender's cold init, with bytecode
    peak_mb: float
    write_units: float
    read_units: float
    final_item_bytes: int
    index_entry_bytes: int  # the entries the final item keeps in the indexes
    callbacks: int
    callback_cpu_ms: float
    callback_log_bytes: float


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float  # per million messages
    unit_price: float
    note: str = ""

    @property
    def cost(self) -> float:
        return self.quantity * self.unit_price


def template_defaults(template: Template) -> dict[str, float]:
    parameters = template.parameter_defaults()
    return {
        "rate": float(parameters["EsmsRateLimit"]),
        "senders": float(parameters["MaxConcurrency"]),
        "retention_days": float(parameters["RetentionDays"]),
    }


def memory_of(template: Template, function: str) -> int:
    return template.function(function).memory_mb


def sender_seconds(inputs: Inputs, memory_mb: int, defaults: dict[str, float]) -> tuple[float, float]:
    """Billed seconds per message: (paced at the default rate under a steady backlog, full batches
    sent as fast as eSMS answers)."""
    cpu = inputs.sender_cpu_ms / 1000 * VCPU_MB / memory_mb
    unpaced = (ESMS_ROUND_TRIP_S + 2 * DYNAMODB_ROUND_TRIP_S) / 10 + cpu
    paced = max(defaults["senders"] / defaults["rate"], unpaced)
    return paced, unpaced


def callback_seconds(inputs: Inputs, memory_mb: int) -> float:
    return DYNAMODB_ROUND_TRIP_S + inputs.callback_cpu_ms / 1000 * VCPU_MB / memory_mb


def access_log_bytes(template: Template) -> int:
    """One access log line of the callback HTTP API, its format filled with typical values."""
    settings = template.resources["CallbackApi"]["Properties"]["AccessLogSettings"]
    typical = {
        "requestId": "Qm1KzhxDSQ0EJmA=",
        "routeKey": "GET /callbacks/esms/{request_id}/{signature}",
        "status": "200",
        "responseLatency": "18",
        "integrationStatus": "200",
        "identity.sourceIp": "113.190.232.10",
        "identity.userAgent": "eSMS-Callback/1.0",
        "requestTime": "27/Nov/2026:08:15:02 +0000",
        "responseLength": "22",
    }
    line = re.sub(r"\$context\.([\w.]+)", lambda match: typical.get(match.group(1), "-"), settings["Format"])
    return len(line.encode()) + 1


def lines(inputs: Inputs, template: Template) -> list[Line]:
    defaults = template_defaults(template)
    sender_mb, callback_mb = memory_of(template, "SenderFunction"), memory_of(template, "CallbackFunction")
    paced, unpaced = sender_seconds(inputs, sender_mb, defaults)
    per_callback = callback_seconds(inputs, callback_mb)
    million = 1_000_000
    invocations = million / 10 + inputs.callbacks * million
    log_bytes = million * (
        inputs.sender_log_bytes
        + PLATFORM_LOG_BYTES / 10
        + inputs.callbacks * (inputs.callback_log_bytes + PLATFORM_LOG_BYTES + access_log_bytes(template))
    )
    item_gb = million * (inputs.final_item_bytes + INDEX_ENTRY_OVERHEAD) / 1e9
    entries = len(LASTING_INDEXES)
    stored_gb = item_gb + million * (inputs.index_entry_bytes + entries * INDEX_ENTRY_OVERHEAD) / 1e9
    months = defaults["retention_days"] / 30
    return [
        Line("SQS requests (send, receive, delete)", million * 1.2, price("sqs_request")),
        Line("Lambda invocations", invocations, price("lambda_request")),
        Line(
            f"Lambda sender GB-s ({sender_mb} MB)",
            million * paced * sender_mb / 1024,
            price("lambda_arm_gb_second"),
            f"{paced * 1000:.0f} ms a message paced; {unpaced * 1000:.0f} ms in full, unpaced batches",
        ),
        Line(
            f"Lambda callback GB-s ({callback_mb} MB)",
            million * inputs.callbacks * per_callback * callback_mb / 1024,
            price("lambda_arm_gb_second"),
            f"{per_callback * 1000:.0f} ms a callback",
        ),
        Line("HTTP API requests", million * inputs.callbacks, price("http_api_request")),
        Line("DynamoDB write units", million * inputs.write_units, price("dynamodb_write_request_unit")),
        Line("DynamoDB read units", million * inputs.read_units, price("dynamodb_read_request_unit")),
        Line(
            f"DynamoDB storage, {defaults['retention_days']:.0f} days",
            stored_gb * months,
            price("dynamodb_storage_gb_month"),
            f"{stored_gb:.2f} GB: the items and their {', '.join(LASTING_INDEXES)} entries",
        ),
        Line(
            f"DynamoDB PITR, {defaults['retention_days']:.0f} days",
            item_gb * months,
            price("dynamodb_pitr_gb_month"),
            f"{item_gb:.2f} GB of items",
        ),
        Line("CloudWatch Logs ingested (GB)", log_bytes / 1e9, price("cloudwatch_logs_ingested_gb")),
        Line(
            "CloudWatch Logs stored 30 days (GB)", log_bytes / 1e9, price("cloudwatch_logs_stored_gb_month")
        ),
        Line("X-Ray traces (5 % sampled)", invocations * SAMPLED, price("xray_trace_recorded")),
        Line(
            "EventBridge outcome events (projected)",
            million * STATUS_EVENTS,
            price("eventbridge_event"),
            "the outcome-events branch: one event a status change",
        ),
        Line(
            "KMS requests (projected)",
            million * FALLBACK_SEALS,
            price("kms_request"),
            "a message with a Fallback: its SMS text sealed (Encrypt); a Decrypt for each SMS sent",
        ),
    ]


def total(priced: list[Line]) -> float:
    return sum(line.cost for line in priced)


def esms_cost_per_million() -> float:
    return price("esms_zns_message") * 1_000_000


@dataclass(frozen=True)
class MemoryOption:
    memory_mb: int
    lambda_cost: float  # sender and callback GB-s per million messages
    fits: bool  # peak memory at most half the size
    init_s: float  # the cold init's CPU time at this share of a vCPU
    batch_cpu_s: float  # a batch of ten's CPU time at this share
    sustains: bool  # an environment keeps up with its share of the rate with CPU to spare

    @property
    def usable(self) -> bool:
        return self.fits and self.sustains and self.init_s < INIT_LIMIT_S / 2

    def describe(self) -> str:
        verdict = "" if self.usable else " (too small)"
        return (
            f"{self.memory_mb} MB: ${self.lambda_cost:.2f}/M, init {self.init_s:.1f} s,"
            f" a batch's CPU {self.batch_cpu_s * 1000:.0f} ms{verdict}"
        )


def memory_options(inputs: Inputs, template: Template) -> list[MemoryOption]:
    defaults = template_defaults(template)
    options = []
    for memory_mb in MEMORY_SIZES:
        paced, _ = sender_seconds(inputs, memory_mb, defaults)
        gb_seconds = (
            paced * memory_mb / 1024
            + inputs.callbacks * callback_seconds(inputs, memory_mb) * memory_mb / 1024
        )
        share = VCPU_MB / memory_mb
        batch_cpu = 10 * inputs.sender_cpu_ms / 1000 * share
        per_second = defaults["rate"] / defaults["senders"]
        options.append(
            MemoryOption(
                memory_mb=memory_mb,
                lambda_cost=1_000_000 * gb_seconds * price("lambda_arm_gb_second"),
                fits=inputs.peak_mb * 2 <= memory_mb,
                init_s=inputs.init_cpu_s * share,
                batch_cpu_s=batch_cpu,
                sustains=per_second * inputs.sender_cpu_ms / 1000 * share < 0.5,
            )
        )
    return options


def best_memory(options: list[MemoryOption]) -> MemoryOption:
    """The cheapest size that fits twice the peak, keeps the cold init well inside Lambda's 10 s and
    keeps up with the environment's share of the send rate using at most half its CPU."""
    usable = [option for option in options if option.usable]
    return min(usable, key=lambda option: (option.lambda_cost, option.memory_mb)) if usable else options[-1]
