"""A local stand-in for eSMS: SendZaloMessage_V5_post, its result codes, seeded faults and GET callbacks.

It validates a send the way eSMS documents it (esms-api-facts.md sections 1-2), answers with eSMS's
JSON shapes, and later calls the CallbackUrl with eSMS's exact query-string format (section 3),
including the awkward parts: a "sent" (SendStatus 7) report before the final one, duplicates,
reordering and callbacks that beat the send's answer. Everything random draws from one seeded
random.Random, so a test run is reproducible for a given configuration and request order.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import hmac
import http.client
import itertools
import json
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote, urlsplit

from zns_relay.models.callback import CALLBACK_PARAMETERS

BASE_PATH = "/MainService.svc/json"
SEND_PATH = f"{BASE_PATH}/SendZaloMessage_V5_post"
REDACTED = "***REDACTED***"
LOCAL_API_KEY = "local-api-key"
LOCAL_SECRET_KEY = "local-secret-key"
DEDUP_WINDOW_SECONDS = 24 * 3600.0
CALLBACK_WORKERS = 4
MAX_BODY_BYTES = 1_000_000
TYPE_ID_ZNS_NORMAL = "25"
DEFAULT_TEMPLATES: Mapping[str, frozenset[str]] = {"2056446": frozenset(), "12345": frozenset()}

ERROR_MESSAGES = {
    "101": "Authorize Failed",
    "108": "Phone is not valid",
    "124": "RequestId is duplicate",
    "160": "TPS limit exceeded",
    "210": "Payload does not match the required format",
    "789": "TemplateId is not config",
    "790": "Template data does not match the ZNS template",
    "791": "OAID or TempID is missing",
    "801": "SendingMode 3 cannot be scheduled",
}

# Zalo errors a failed delivery reports in error_info, by outcome name.
FAILURES: Mapping[str, tuple[int, str]] = {
    "failed_108": (-108, "Phone number is invalid"),
    "failed_114": (
        -114,
        "User is inactive, or reject the message, or using an outdated Zalo version, "
        "or other internal errors",
    ),
    "failed_118": (-118, "Zalo account does not exist or has been disabled"),
}
# "lost": eSMS accepted the message but never calls back (the relay must reconcile).
OUTCOME_NAMES = frozenset({"delivered", "lost", *FAILURES})

_CALLBACK_FIELDS = CALLBACK_PARAMETERS  # eSMS's order, as the published sample shows
_TELCO_PREFIXES = {
    "1": "032 033 034 035 036 037 038 039 086 096 097 098",  # Viettel
    "2": "070 076 077 078 079 089 090 093",  # Mobifone
    "3": "081 082 083 084 085 088 091 094",  # Vinaphone
    "4": "052 056 058 092",  # Vietnamobile
    "5": "059 099",  # Gtel
    "6": "087",  # Itel
    "7": "055",  # Reddi
}
_TELCO_BY_PREFIX = {
    prefix: telco for telco, prefixes in _TELCO_PREFIXES.items() for prefix in prefixes.split()
}
_LOCAL_PHONE = re.compile(r"^0[35789]\d{8}$")
_INTERNATIONAL_PHONE = re.compile(r"^84[35789]\d{8}$")
_SEND_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_CREDENTIAL_KEYS = frozenset({"apikey", "secretkey"})
_STRING_FIELDS = (
    "ApiKey",
    "SecretKey",
    "OAID",
    "Phone",
    "TempID",
    "SendDate",
    "campaignid",
    "Sandbox",
    "CallbackUrl",
    "RequestId",
    "SendingMode",
)


def _require_number(name: str, value: object, upper: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be at most {upper}")


def _require_outcome(name: str, outcome: object) -> None:
    if outcome not in OUTCOME_NAMES:
        raise ValueError(f"{name}: unknown outcome {outcome!r} (known: {', '.join(sorted(OUTCOME_NAMES))})")


@dataclass(frozen=True)
class SimulatorConfig:
    """Behaviour knobs; rates and probabilities are in [0, 1]. The defaults: no faults, all delivered."""

    seed: int = 0
    latency_ms: float | tuple[float, float] = 0.0  # fixed, or (min, max) drawn uniformly
    # Faults: one draw per send decides at most one, in this order, with these probabilities.
    drop_rate: float = 0.0  # close the connection without an answer
    timeout_rate: float = 0.0  # sleep timeout_sleep_seconds, then answer HTTP 504
    error_rate_5xx: float = 0.0  # HTTP 500 or 503 with an HTML error page
    throttle_rate: float = 0.0  # CodeResult 160
    timeout_sleep_seconds: float = 15.0
    # Delivery outcome: phone_outcomes (exact number), then suffix_outcomes (longest matching ending),
    # then a weighted draw from outcomes. Names: delivered, lost, failed_108, failed_114, failed_118.
    outcomes: Mapping[str, float] = field(default_factory=lambda: {"delivered": 1.0})
    phone_outcomes: Mapping[str, str] = field(default_factory=dict)
    suffix_outcomes: Mapping[str, str] = field(default_factory=dict)
    # Callback quirks, as probabilities per accepted message.
    sent_first: float = 0.0  # a SendStatus 7 callback precedes the final one
    reorder: float = 0.0  # given a SendStatus 7 callback, it follows the final one instead
    duplicate_callbacks: float = 0.0  # the final callback is delivered twice
    early_callbacks: float = 0.0  # callbacks are delivered before the send is answered
    early_callback_wait_seconds: float = 2.0  # longest the answer waits for early callbacks
    callback_delay_seconds: float = 0.05
    callback_gap_seconds: float = 0.02  # between the callbacks of one message
    callback_timeout_seconds: float = 5.0
    callback_retries: int = 5  # on timeout only, as eSMS does
    callback_retry_delay_seconds: float = 0.5
    unit_price: float = 300.0  # TotalPrice of a sent message

    _RATES = (
        "drop_rate",
        "timeout_rate",
        "error_rate_5xx",
        "throttle_rate",
        "sent_first",
        "reorder",
        "duplicate_callbacks",
        "early_callbacks",
    )
    _DURATIONS = (
        "timeout_sleep_seconds",
        "early_callback_wait_seconds",
        "callback_delay_seconds",
        "callback_gap_seconds",
        "callback_timeout_seconds",
        "callback_retry_delay_seconds",
        "unit_price",
    )

    def __post_init__(self) -> None:
        """Validate, and copy mappings so a caller's later edits cannot change a live configuration."""
        for name in self._RATES:
            _require_number(name, getattr(self, name), upper=1.0)
        for name in self._DURATIONS:
            _require_number(name, getattr(self, name))
        for name in ("seed", "callback_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        object.__setattr__(self, "latency_ms", self._checked_latency())
        object.__setattr__(self, "outcomes", self._checked_weights())
        object.__setattr__(self, "phone_outcomes", self._checked_phone_outcomes())
        object.__setattr__(self, "suffix_outcomes", self._checked_suffix_outcomes())

    def _checked_latency(self) -> float | tuple[float, float]:
        latency: Any = self.latency_ms  # JSON updates deliver a list
        if isinstance(latency, list | tuple):
            if len(latency) != 2:
                raise ValueError("latency_ms must be a number or a [min, max] pair")
            low, high = latency
            _require_number("latency_ms", low)
            _require_number("latency_ms", high)
            if low > high:
                raise ValueError("latency_ms: min must not exceed max")
            return (float(low), float(high))
        _require_number("latency_ms", latency)
        return float(latency)

    def _checked_weights(self) -> dict[str, float]:
        if not isinstance(self.outcomes, Mapping) or not self.outcomes:
            raise ValueError("outcomes must map outcome names to weights")
        for name, weight in self.outcomes.items():
            _require_outcome("outcomes", name)
            _require_number(f"outcomes[{name}]", weight)
        if sum(self.outcomes.values()) <= 0:
            raise ValueError("outcomes: at least one weight must be positive")
        return dict(self.outcomes)

    def _checked_phone_outcomes(self) -> dict[str, str]:
        if not isinstance(self.phone_outcomes, Mapping):
            raise ValueError("phone_outcomes must map phone numbers to outcome names")
        checked = {}
        for phone, outcome in self.phone_outcomes.items():
            local = _local_phone(phone) if isinstance(phone, str) else None
            if local is None:
                raise ValueError(f"phone_outcomes: {phone!r} is not a 0xxxxxxxxx or 84xxxxxxxxx number")
            _require_outcome("phone_outcomes", outcome)
            checked[local] = outcome
        return checked

    def _checked_suffix_outcomes(self) -> dict[str, str]:
        if not isinstance(self.suffix_outcomes, Mapping):
            raise ValueError("suffix_outcomes must map trailing digits to outcome names")
        for suffix, outcome in self.suffix_outcomes.items():
            if not isinstance(suffix, str) or not suffix.isdigit():
                raise ValueError(f"suffix_outcomes: {suffix!r} is not a string of digits")
            _require_outcome("suffix_outcomes", outcome)
        return dict(self.suffix_outcomes)


def _local_phone(phone: str) -> str | None:
    """The 0xxxxxxxxx form eSMS reports in callbacks, or None when eSMS would answer 108."""
    if _LOCAL_PHONE.fullmatch(phone):
        return phone
    if _INTERNATIONAL_PHONE.fullmatch(phone):
        return "0" + phone[2:]
    return None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_sms_id() -> str:
    """eSMS-like opaque id: 32 hex digits and three more digits. Not seeded: ids must never repeat."""
    return f"{uuid.uuid4().hex}{uuid.uuid4().int % 1000:03d}"


def _redact(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    return {
        key: REDACTED if key.lower() in _CREDENTIAL_KEYS else copy.deepcopy(value)
        for key, value in body.items()
    }


def _encode_error_info(code: int, message: str) -> str:
    """Zalo's error JSON as eSMS's published sample carries it: a quoted, backslash-escaped JSON string."""
    return json.dumps(json.dumps({"error": code, "message": message}, separators=(",", ":")))


def _query_string(params: Mapping[str, str]) -> str:
    """URL-encode like eSMS's sample: braces stay literal, everything else reserved is %-escaped."""
    return "&".join(f"{name}={quote(params[name], safe='{}')}" for name in _CALLBACK_FIELDS)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    answer: Mapping[str, Any] | None = None  # the eSMS answer, kept for the request log


def _json_reply(payload: Any, status: int = 200) -> _Reply:
    return _Reply(status, json.dumps(payload).encode())


def _esms_reply(code: str, sms_id: str | None = None) -> _Reply:
    payload: dict[str, Any] = {"CodeResult": code, "CountRegenerate": 0}
    if sms_id is not None:
        payload["SMSID"] = sms_id
    else:
        payload["ErrorMessage"] = ERROR_MESSAGES[code]
    return _Reply(200, json.dumps(payload).encode(), answer=payload)


def _html_reply(status: int, title: str) -> _Reply:
    page = f"<html><head><title>{title}</title></head><body><h1>{status} {title}</h1></body></html>"
    return _Reply(status, page.encode(), "text/html; charset=utf-8")


@dataclass
class _Chain:
    """The callbacks one accepted message produces, delivered one after another in this order."""

    generation: int
    url: str
    sms_id: str
    request_id: str
    outcome: str
    steps: list[tuple[dict[str, str], bool]]  # (query parameters, is a duplicate)
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Delivery:
    chain: _Chain
    step: int
    attempt: int


@dataclass(frozen=True)
class _ValidSend:
    """A send that passed validation: what acceptance and the callbacks need from it."""

    phone: str
    oa_id: str
    temp_id: str
    request_id: str
    callback_url: str
    sandbox: bool


class _ValidationError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class EsmsSimulator:
    """eSMS on loopback: `with EsmsSimulator() as sim: EsmsClient(sim.url)`. Thread-safe."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        config: SimulatorConfig | None = None,
        api_key: str = LOCAL_API_KEY,
        secret_key: str = LOCAL_SECRET_KEY,
        templates: Mapping[str, set[str]] | None = None,
    ) -> None:
        """`templates` maps each registered TempID to its parameter names; an empty set accepts any."""
        self._address = (host, port)
        self._api_key = api_key.encode()
        self._secret_key = secret_key.encode()
        chosen = DEFAULT_TEMPLATES if templates is None else templates
        self._templates = {temp_id: frozenset(keys) for temp_id, keys in chosen.items()}
        self._config = config or SimulatorConfig()
        self._rng = random.Random(self._config.seed)
        # One condition guards all mutable state; waiters are the scheduler and wait_for_callbacks_idle.
        self._state = threading.Condition()
        self._requests: list[dict[str, Any]] = []
        self._callbacks: list[dict[str, Any]] = []
        self._accepted_at: dict[str, float] = {}  # RequestId -> simulated time of its 100 answer
        self._clock_offset = 0.0
        self._generation = 0  # bumped by reset(): callbacks of earlier generations are dropped
        self._schedule: list[tuple[float, int, _Delivery]] = []
        self._sequence = itertools.count()
        self._pending = 0  # callback deliveries scheduled or in flight
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._executor: ThreadPoolExecutor | None = None

    # Lifecycle

    def start(self) -> EsmsSimulator:
        if self._server is not None:
            raise RuntimeError("the simulator is already started")
        self._server = _Server(self._address, self)
        self._executor = ThreadPoolExecutor(CALLBACK_WORKERS, thread_name_prefix="esms-sim-callback")
        self._threads = [
            threading.Thread(target=self._server.serve_forever, args=(0.05,), name="esms-sim-http"),
            threading.Thread(target=self._run_scheduler, name="esms-sim-scheduler"),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and dispatching; waits for every thread the simulator started."""
        if self._server is None:
            return
        self._stopping.set()  # wakes simulated latency and timeouts
        with self._state:
            for _, _, delivery in self._schedule:
                delivery.chain.done.set()
            self._pending -= len(self._schedule)
            self._schedule.clear()
            self._state.notify_all()
        self._server.shutdown()
        self._server.server_close()  # joins the request threads
        for thread in self._threads:
            thread.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        with self._state:
            self._pending = 0  # cancelled deliveries never ran: nothing is scheduled or in flight now
            self._state.notify_all()
        self._server = None

    def __enter__(self) -> EsmsSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """eSMS's base URL shape: `{url}/SendZaloMessage_V5_post/` is the send endpoint."""
        return f"{self._root_url()}{BASE_PATH}"

    @property
    def control_url(self) -> str:
        """Where the introspection and control endpoints live: `{control_url}/requests` and so on."""
        return f"{self._root_url()}/_sim"

    def _root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the simulator first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # Introspection and control

    @property
    def config(self) -> SimulatorConfig:
        with self._state:
            return self._config

    def configure(self, **changes: Any) -> SimulatorConfig:
        """Replace some configuration fields; ValueError for unknown fields or invalid values."""
        unknown = sorted(set(changes) - {item.name for item in dataclasses.fields(SimulatorConfig)})
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        with self._state:
            self._config = dataclasses.replace(self._config, **changes)
            if "seed" in changes:
                self._rng = random.Random(self._config.seed)
            return self._config

    def reset(self) -> None:
        """Forget requests, callbacks (pending ones are cancelled), RequestIds and the clock; reseed."""
        with self._state:
            self._requests.clear()
            self._callbacks.clear()
            self._accepted_at.clear()
            self._clock_offset = 0.0
            self._generation += 1
            self._rng = random.Random(self._config.seed)
            for _, _, delivery in self._schedule:
                delivery.chain.done.set()
            self._pending -= len(self._schedule)
            self._schedule.clear()
            self._state.notify_all()

    def advance_clock(self, seconds: float) -> None:
        """Move the simulated clock that ages RequestIds out of the 24-hour duplicate window."""
        with self._state:
            self._clock_offset += seconds

    def requests(self) -> list[dict[str, Any]]:
        """Every send received, credentials redacted, in arrival order."""
        with self._state:
            return copy.deepcopy(self._requests)

    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback delivery attempt with its HTTP status or error, in completion order."""
        with self._state:
            return copy.deepcopy(self._callbacks)

    def accepted_count_by_request_id(self) -> dict[str, int]:
        """How many real (non-sandbox) sends eSMS answered 100, per non-empty RequestId."""
        counts: dict[str, int] = {}
        with self._state:
            for record in self._requests:
                if record["code_result"] == "100" and not record["sandbox"] and record["request_id"]:
                    counts[record["request_id"]] = counts.get(record["request_id"], 0) + 1
        return counts

    def wait_for_callbacks_idle(self, timeout: float) -> bool:
        """True once no callback is scheduled or in flight; False if that took longer than timeout."""
        with self._state:
            return self._state.wait_for(lambda: self._pending == 0, timeout)

    # HTTP routing (called from request threads)

    def _handle_get(self, path: str) -> _Reply:
        if path == "/_sim/requests":
            return _json_reply(self.requests())
        if path == "/_sim/callbacks":
            return _json_reply(self.callbacks())
        if path == "/_sim/config":
            return _json_reply(dataclasses.asdict(self.config))
        return _json_reply({"error": f"no such resource: {path}"}, 404)

    def _handle_post(self, path: str, raw: bytes) -> _Reply | None:
        if path.rstrip("/") == SEND_PATH:
            return self._handle_send(raw)
        if path == "/_sim/config":
            try:
                changes = json.loads(raw)
                if not isinstance(changes, dict):
                    raise ValueError("the body must be a JSON object")
                return _json_reply(dataclasses.asdict(self.configure(**changes)))
            except ValueError as error:
                return _json_reply({"error": str(error)}, 400)
        if path == "/_sim/reset":
            self.reset()
            return _json_reply({"reset": True})
        return _json_reply({"error": f"no such resource: {path}"}, 404)

    # The send endpoint

    def _handle_send(self, raw: bytes) -> _Reply | None:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        record: dict[str, Any] = {
            "received_at": _now_iso(),
            "answered_at": None,
            "body": _redact(body),
            "request_id": body.get("RequestId") if body and isinstance(body.get("RequestId"), str) else None,
            "sandbox": bool(body and body.get("Sandbox") == "1"),
            "fault": None,
            "http_status": None,
            "code_result": None,
            "error_message": None,
            "sms_id": None,
            "outcome": None,
        }
        with self._state:
            config = self._config
            record["seq"] = len(self._requests) + 1
            self._requests.append(record)
            latency = self._draw_latency(config)
            fault = self._draw_fault(config)
            record["fault"] = fault
            error_status = self._rng.choice((500, 503)) if fault == "5xx" else 0
        self._stopping.wait(latency)

        early_callbacks: threading.Event | None = None
        reply: _Reply | None
        if fault == "drop":
            reply = None
        elif fault == "timeout":
            self._stopping.wait(config.timeout_sleep_seconds)
            reply = _html_reply(504, "Gateway Timeout")
        elif fault == "5xx":
            reply = _html_reply(
                error_status, "Internal Server Error" if error_status == 500 else "Service Unavailable"
            )
        elif fault == "throttle":
            reply = _esms_reply("160")
        else:
            try:
                send = self._validate(body)
            except _ValidationError as error:
                reply = _esms_reply(error.code)
            else:
                reply, early_callbacks = self._accept(send, record)

        if early_callbacks is not None:
            early_callbacks.wait(config.early_callback_wait_seconds)
        with self._state:
            record["answered_at"] = _now_iso()
            if reply is not None:
                record["http_status"] = reply.status
            if reply is not None and reply.answer is not None:
                record["code_result"] = reply.answer["CodeResult"]
                record["sms_id"] = reply.answer.get("SMSID")
                record["error_message"] = reply.answer.get("ErrorMessage")
        return reply

    def _draw_latency(self, config: SimulatorConfig) -> float:
        if isinstance(config.latency_ms, tuple):
            return self._rng.uniform(*config.latency_ms) / 1000.0
        return config.latency_ms / 1000.0

    def _draw_fault(self, config: SimulatorConfig) -> str | None:
        """One draw against the cumulative fault rates, so each rate is exact when they sum to <= 1."""
        rates = (
            ("drop", config.drop_rate),
            ("timeout", config.timeout_rate),
            ("5xx", config.error_rate_5xx),
            ("throttle", config.throttle_rate),
        )
        if not any(rate for _, rate in rates):
            return None
        draw = self._rng.random()
        threshold = 0.0
        for fault, rate in rates:
            threshold += rate
            if draw < threshold:
                return fault
        return None

    def _validate(self, body: dict[str, Any] | None) -> _ValidSend:
        """eSMS's checks in a plausible order; raises _ValidationError with the CodeResult."""
        if body is None:
            raise _ValidationError("210")
        if any(not isinstance(body.get(name, ""), str) for name in _STRING_FIELDS):
            raise _ValidationError("210")
        api_key, secret_key = body.get("ApiKey", ""), body.get("SecretKey", "")
        if not api_key or not secret_key:
            raise _ValidationError("210")
        # Both comparisons always run, in constant time, so timing reveals nothing about either key.
        key_ok = hmac.compare_digest(api_key.encode(), self._api_key)
        secret_ok = hmac.compare_digest(secret_key.encode(), self._secret_key)
        if not (key_ok and secret_ok):
            raise _ValidationError("101")
        if not body.get("OAID") or not body.get("TempID"):
            raise _ValidationError("791")
        keys = _temp_data_keys(body.get("TempData"))
        send_date, request_id = body.get("SendDate", ""), body.get("RequestId", "")
        if not body.get("Phone") or keys is None or len(request_id) > 50 or not _valid_send_date(send_date):
            raise _ValidationError("210")
        if body.get("Sandbox", "") not in ("", "0", "1") or body.get("SendingMode", "") not in ("", "1", "3"):
            raise _ValidationError("210")
        phone = _local_phone(body["Phone"])
        if phone is None:
            raise _ValidationError("108")
        required = self._templates.get(body["TempID"])
        if required is None:
            raise _ValidationError("789")
        if required and (set(keys) != required or len(keys) != len(required)):
            raise _ValidationError("790")
        if body.get("SendingMode") == "3" and send_date:
            raise _ValidationError("801")
        return _ValidSend(
            phone=phone,
            oa_id=body["OAID"],
            temp_id=body["TempID"],
            request_id=request_id,
            callback_url=body.get("CallbackUrl", ""),
            sandbox=body.get("Sandbox") == "1",
        )

    def _accept(self, send: _ValidSend, record: dict[str, Any]) -> tuple[_Reply, threading.Event | None]:
        """The 24-hour RequestId check and its registration, atomically; schedule the callbacks.

        Returns the answer and, when the callbacks are to beat it, the event their completion sets.
        """
        with self._state:
            now = time.monotonic() + self._clock_offset
            accepted_at = self._accepted_at.get(send.request_id) if send.request_id else None
            if accepted_at is not None and now - accepted_at < DEDUP_WINDOW_SECONDS:
                return _esms_reply("124"), None
            sms_id = _new_sms_id()
            if send.sandbox:
                return _esms_reply("100", sms_id), None
            if send.request_id:
                self._accepted_at[send.request_id] = now
            outcome = self._pick_outcome(send.phone)
            record["outcome"] = outcome
            if outcome == "lost" or not send.callback_url:
                return _esms_reply("100", sms_id), None
            chain = self._plan_callbacks(send, sms_id, outcome)
            early = self._chance(self._config.early_callbacks)
            self._push(_Delivery(chain, 0, 1), 0.0 if early else self._config.callback_delay_seconds)
            return _esms_reply("100", sms_id), chain.done if early else None

    def _pick_outcome(self, phone: str) -> str:
        config = self._config
        if phone in config.phone_outcomes:
            return config.phone_outcomes[phone]
        suffixes = [suffix for suffix in config.suffix_outcomes if phone.endswith(suffix)]
        if suffixes:
            return config.suffix_outcomes[max(suffixes, key=len)]
        names = list(config.outcomes)
        return self._rng.choices(names, weights=[config.outcomes[name] for name in names])[0]

    def _chance(self, probability: float) -> bool:
        return probability >= 1.0 or (probability > 0.0 and self._rng.random() < probability)

    def _plan_callbacks(self, send: _ValidSend, sms_id: str, outcome: str) -> _Chain:
        config = self._config
        partner_id = f"{self._rng.getrandbits(128):032x}"  # Zalo's msg_id

        def params(status: int) -> dict[str, str]:
            failure = FAILURES.get(outcome) if status == 5 else None
            sent = failure is None
            return {
                "SMSID": sms_id,
                "SendFailed": "1" if failure else "0",
                "SendStatus": str(status),
                "SendSuccess": "1" if status == 5 and sent else "0",
                "TotalPrice": f"{config.unit_price if sent else 0.0:.4f}",
                "TotalReceiver": "1",
                "TotalSent": "1" if sent else "0",
                "RequestId": "",  # eSMS leaves it empty in every published sample
                "TypeId": TYPE_ID_ZNS_NORMAL,
                "telcoid": _TELCO_BY_PREFIX.get(send.phone[:3], "1"),
                "phonenumber": send.phone,
                "partnerids": partner_id if sent else "",
                "error_info": _encode_error_info(*failure) if failure else "",
                "oaid": send.oa_id,
                "tempid": send.temp_id,
            }

        final = params(5)
        steps = [(final, False)]
        if self._chance(config.sent_first):
            sent_report = (params(7), False)
            steps = [*steps, sent_report] if self._chance(config.reorder) else [sent_report, *steps]
        if self._chance(config.duplicate_callbacks):
            steps.append((final, True))
        return _Chain(self._generation, send.callback_url, sms_id, send.request_id, outcome, steps)

    # Callback dispatch

    def _push(self, delivery: _Delivery, delay: float) -> None:
        """Call with the state lock held."""
        if self._stopping.is_set():
            delivery.chain.done.set()
            return
        heapq.heappush(self._schedule, (time.monotonic() + delay, next(self._sequence), delivery))
        self._pending += 1
        self._state.notify_all()

    def _run_scheduler(self) -> None:
        """Hand each due delivery to the worker pool; retries and next steps come back through _push."""
        executor = cast(ThreadPoolExecutor, self._executor)
        with self._state:
            while not self._stopping.is_set():
                if not self._schedule:
                    self._state.wait()
                    continue
                wait = self._schedule[0][0] - time.monotonic()
                if wait > 0:
                    self._state.wait(wait)
                    continue
                _, _, delivery = heapq.heappop(self._schedule)
                executor.submit(self._deliver, delivery)

    def _deliver(self, delivery: _Delivery) -> None:
        chain = delivery.chain
        params = chain.steps[delivery.step][0]
        separator = "&" if "?" in chain.url else "?"
        url = f"{chain.url}{separator}{_query_string(params)}"
        with self._state:
            config = self._config
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            status = _http_get(url, config.callback_timeout_seconds)
        except TimeoutError:
            error = "timeout"
        except (OSError, http.client.HTTPException, ValueError) as failure:
            error = type(failure).__name__
        with self._state:
            self._pending -= 1
            self._record_delivery(
                delivery, config=config, url=url, status=status, error=error, started=started
            )
            self._state.notify_all()

    def _record_delivery(
        self,
        delivery: _Delivery,
        *,
        config: SimulatorConfig,
        url: str,
        status: int | None,
        error: str | None,
        started: float,
    ) -> None:
        """Call with the state lock held: record the attempt, then retry, continue or finish the chain."""
        chain = delivery.chain
        if chain.generation != self._generation:
            chain.done.set()
            return
        params, duplicate = chain.steps[delivery.step]
        self._callbacks.append(
            {
                "sms_id": chain.sms_id,
                "request_id": chain.request_id,
                "outcome": chain.outcome,
                "send_status": int(params["SendStatus"]),
                "duplicate": duplicate,
                "attempt": delivery.attempt,
                "url": url,
                "query": dict(params),
                "http_status": status,
                "error": error,
                "sent_at": _now_iso(),
                "duration_ms": round((time.monotonic() - started) * 1000.0, 1),
            }
        )
        if error == "timeout" and delivery.attempt <= config.callback_retries:
            retry = dataclasses.replace(delivery, attempt=delivery.attempt + 1)
            self._push(retry, config.callback_retry_delay_seconds)
        elif delivery.step + 1 < len(chain.steps):
            self._push(_Delivery(chain, delivery.step + 1, 1), config.callback_gap_seconds)
        else:
            chain.done.set()


def _http_get(url: str, timeout: float) -> int:
    """GET the URL exactly as given: requests/urllib3 would re-encode the literal braces eSMS sends."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("not an http(s) URL")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", f"{parts.path or '/'}?{parts.query}")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _temp_data_keys(temp_data: object) -> list[str] | None:
    """Parameter names of a [{key, value}] list or a {name: value} object of strings; None if malformed."""
    if isinstance(temp_data, dict):
        pairs: Iterator[tuple[object, object]] = iter(temp_data.items())
    elif isinstance(temp_data, list) and all(isinstance(item, dict) for item in temp_data):
        pairs = ((item.get("key"), item.get("value")) for item in temp_data)
    else:
        return None
    keys = []
    for key, value in pairs:
        if not isinstance(key, str) or not key or not isinstance(value, str):
            return None
        keys.append(key)
    return keys or None


def _valid_send_date(send_date: str) -> bool:
    if not send_date:
        return True
    if not _SEND_DATE.fullmatch(send_date):
        return False
    try:
        datetime.strptime(send_date, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins request threads and stop() leaves none behind
    request_queue_size = 128  # a burst of concurrent senders must not see refused connections

    def __init__(self, address: tuple[str, int], simulator: EsmsSimulator) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is normal here; anything else still prints."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    timeout = 10.0  # a connection that never sends its request cannot hold stop() forever

    @property
    def _simulator(self) -> EsmsSimulator:
        return cast(_Server, self.server).simulator

    def do_GET(self) -> None:
        self._send(self._simulator._handle_get(self.path.split("?", 1)[0]))

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(_json_reply({"error": "bad Content-Length"}, 400))
            return
        raw = self.rfile.read(length)
        self._send(self._simulator._handle_post(self.path.split("?", 1)[0], raw))

    def _send(self, reply: _Reply | None) -> None:
        """Write the reply; None closes the connection unanswered (the drop fault)."""
        self.close_connection = True
        if reply is None:
            return
        with suppress(ConnectionError):  # the client already gave up
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: no request lines on stderr (and so no chance of logging anything sensitive)."""
