"""EsmsSimulator: eSMS's send, status and account endpoints on loopback, with its faults and callbacks.

Everything random draws from one seeded random.Random, so a run is reproducible for a given
configuration and request order. Rate limits, the 24-hour RequestId memory and messages' creation times
run on the simulator's clock (`clock` plus `advance_clock`), so tests can drive them exactly.
docs/esms-simulator.md is the guide.
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
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from local.esms_sim import answers
from local.esms_sim.config import DELIVERED, SimulatorConfig
from local.esms_sim.limits import SlidingWindow, TokenBucket
from local.esms_sim.reports import SENT, SMS, ZNS, AcceptedMessage, Report, callback_query
from local.esms_sim.sent_data import QUERY_FIELDS, sent_data_query
from local.esms_sim.server import Reply, Server, html_reply, json_reply
from local.esms_sim.validation import (
    SMS_TEXT_FIELDS,
    ZNS_TEXT_FIELDS,
    Refusal,
    SmsSend,
    ZnsSend,
    check_sms_send,
    check_zns_send,
    duplicate_request,
    new_sms_id,
    refuse,
    text_fields,
)
from local.esms_sim.zalo_rules import DailyCounts, refusal, vietnam_time

BASE_PATH = "/MainService.svc/json"  # rest.esms.vn's; GetCallback lives at the root (status-sms.esms.vn)
REDACTED = "***REDACTED***"
LOCAL_API_KEY = "local-api-key"
LOCAL_SECRET_KEY = "local-secret-key"
DEDUP_WINDOW_SECONDS = 24 * 3600.0
CALLBACK_WORKERS = 4
FIRST_PORTAL_ID = 29028845  # the SmsId of GetSmsSentData_V2's sample; the next messages count up from it
_CREDENTIAL_KEYS = frozenset({"apikey", "secretkey"})
_QUERY_SMS_TYPES = ("24", "25")
# Limit names, as limit_violations() and GET /_sim/stats report them.
SEND_TPS = "send_tps"
GET_CALLBACK_TPS = "get_callback_tps"
GET_CALLBACK_IDS = "get_callback_ids"
QUERY_ZNS_STATUS_TPS = "query_zns_status_tps"
LIMITS = (SEND_TPS, GET_CALLBACK_TPS, GET_CALLBACK_IDS, QUERY_ZNS_STATUS_TPS)


@dataclass(frozen=True)
class Endpoint:
    """One eSMS endpoint: its name in the request log and stats, its method and its path under the root."""

    name: str
    method: str
    path: str


ENDPOINTS = (
    Endpoint("zns_send", "POST", f"{BASE_PATH}/SendZaloMessage_V5_post"),
    Endpoint("sms_send", "POST", f"{BASE_PATH}/SendMultipleMessage_V4_post_json"),
    Endpoint("get_callback", "POST", "/ZaloCallback/GetCallback"),
    Endpoint("query_zns_status", "POST", f"{BASE_PATH}/QueryZnsStatus"),
    Endpoint("get_balance", "POST", f"{BASE_PATH}/GetBalance_json"),
    Endpoint("get_quota", "POST", f"{BASE_PATH}/ZNS/GetQuota"),
    Endpoint("get_quality", "POST", f"{BASE_PATH}/ZNS/GetQuality"),
    Endpoint("get_template", "POST", f"{BASE_PATH}/GetTemplate"),
    Endpoint("get_zns_template_info", "GET", f"{BASE_PATH}/GetZnsTemplateInfo"),
    Endpoint("get_sms_sent_data", "POST", f"{BASE_PATH}/GetSmsSentData_V2"),
    Endpoint("get_send_status", "GET", f"{BASE_PATH}/GetSendStatus"),
)
_ENDPOINTS_BY_PATH = {endpoint.path: endpoint for endpoint in ENDPOINTS}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def redact_url(url: str) -> str:
    """A CallbackUrl without its secret parts: the last path segment (the signature) and any query string."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    last = max((index for index, segment in enumerate(segments) if segment), default=None)
    if last is not None:
        segments[last] = REDACTED
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), REDACTED if parts.query else "", ""))


def _redact(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    redacted = {}
    for key, value in body.items():
        if key.lower() in _CREDENTIAL_KEYS:
            redacted[key] = REDACTED
        elif key.lower() == "callbackurl" and isinstance(value, str) and value:
            redacted[key] = redact_url(value)
        else:
            redacted[key] = copy.deepcopy(value)
    return redacted


@dataclass
class _Chain:
    """The reports one accepted message goes through, one after another; each may call the CallbackUrl."""

    generation: int
    message: AcceptedMessage
    steps: list[tuple[Report, bool]]  # (report, is a duplicate callback)
    calls_back: bool  # False: no CallbackUrl, or its callbacks are lost
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Delivery:
    """A step's callback (its `attempt`th try)."""

    chain: _Chain
    step: int
    attempt: int


@dataclass(frozen=True)
class _Learning:
    """eSMS's record of a message reaching a step, due on the step's time whatever its callbacks' fate."""

    chain: _Chain
    step: int


@dataclass(frozen=True)
class _Handled:
    """An endpoint's answer and, when the callbacks are to beat it, the event their completion sets."""

    answer: answers.Answer
    early_callbacks: threading.Event | None = None
    log: Mapping[str, Any] = field(default_factory=dict)  # what the request log adds (detail, outcome...)


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` (seconds since the epoch) drives the rate limits, the RequestId memory and the creation
        times GetSmsSentData_V2 lists and filters by; not real waits (report delays are real time)."""
        self._address = (host, port)
        self._api_key = api_key.encode()
        self._secret_key = secret_key.encode()
        self._clock = clock
        self._config = config or SimulatorConfig()
        self._rng = random.Random(self._config.seed)
        # One condition guards all mutable state; waiters are the scheduler and wait_for_callbacks_idle.
        self._state = threading.Condition()
        self._requests: list[dict[str, Any]] = []
        self._callbacks: list[dict[str, Any]] = []
        self._messages: dict[str, AcceptedMessage] = {}  # SMSID -> what eSMS knows of it
        self._accepted_at: dict[str, float] = {}  # RequestId -> simulated time of its 100 answer
        self._portal_ids = itertools.count(FIRST_PORTAL_ID)
        self._buckets: dict[str, TokenBucket] = {}  # ApiKey -> its send bucket
        self._windows: dict[tuple[str, str], SlidingWindow] = {}  # (endpoint, ApiKey) -> admitted calls
        self._traffic: dict[str, SlidingWindow] = {}  # endpoint -> every call of the last second
        self._peaks: Counter[str] = Counter()
        self._violations: Counter[str] = Counter()
        self._clock_offset = 0.0
        self._zalo_counts = DailyCounts()  # the ZNS Zalo took today, against its quotas
        self._generation = 0  # bumped by reset(): reports of earlier generations are dropped
        self._schedule: list[tuple[float, int, _Delivery | _Learning]] = []
        self._sequence = itertools.count()
        self._pending = 0  # reports to learn and callbacks, scheduled or in flight
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._executor: ThreadPoolExecutor | None = None
        self._handlers: dict[str, Callable[[dict[str, Any] | None, SimulatorConfig], _Handled]] = {
            "zns_send": self._zns_send,
            "sms_send": self._sms_send,
            "get_callback": self._get_callback,
            "query_zns_status": self._query_zns_status,
            "get_balance": self._get_balance,
            "get_quota": self._get_quota,
            "get_quality": self._get_quality,
            "get_template": self._get_template,
            "get_zns_template_info": self._get_zns_template_info,
            "get_sms_sent_data": self._get_sms_sent_data,
            "get_send_status": self._get_send_status,
        }

    # Lifecycle

    def start(self) -> EsmsSimulator:
        if self._server is not None:
            raise RuntimeError("the simulator is already started")
        self._stopping.clear()
        self._server = Server(self._address, self._handle)
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
            self._cancel_schedule()
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
        """The send base URL (rest.esms.vn's shape): `{url}/SendZaloMessage_V5_post/` sends a ZNS."""
        return f"{self.status_url}{BASE_PATH}"

    @property
    def status_url(self) -> str:
        """The root URL, for https://status-sms.esms.vn: `{status_url}/ZaloCallback/GetCallback`."""
        if self._server is None:
            raise RuntimeError("start the simulator first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def control_url(self) -> str:
        """Where the introspection and control endpoints live: `{control_url}/requests` and so on."""
        return f"{self.status_url}/_sim"

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
        """Forget requests, callbacks (pending ones are cancelled), messages, RequestIds, rate limits,
        statistics, the quotas' counts and the clock offset; reseed. The configuration stays."""
        with self._state:
            for store in (self._requests, self._callbacks, self._messages, self._accepted_at, self._buckets):
                store.clear()
            for counters in (self._windows, self._traffic, self._peaks, self._violations):
                counters.clear()
            self._clock_offset = 0.0
            self._zalo_counts.clear()
            self._portal_ids = itertools.count(FIRST_PORTAL_ID)
            self._generation += 1
            self._rng = random.Random(self._config.seed)
            self._cancel_schedule()

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock: ages RequestIds out of the 24-hour memory, refills rate limits, dates
        the next messages later."""
        with self._state:
            self._clock_offset += seconds

    def vietnam_time(self) -> datetime:
        """The simulator's Vietnam time (UTC+7): its clock plus vietnam_clock_offset_seconds."""
        with self._state:
            return vietnam_time(self._now(), self._config)

    def requests(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Every request received (or those of one endpoint), credentials and signatures redacted."""
        with self._state:
            chosen = [r for r in self._requests if endpoint is None or r["endpoint"] == endpoint]
            return copy.deepcopy(chosen)

    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback delivery attempt (and each lost callback), in completion order."""
        with self._state:
            return copy.deepcopy(self._callbacks)

    def accepted_count_by_request_id(self) -> dict[str, int]:
        """How many real (non-sandbox) sends eSMS accepted, per non-empty RequestId, on both channels:
        those whose 100 answer a drop or timeout fault lost included."""
        with self._state:
            accepted = [record["request_id"] for record in self._requests if record["accepted"]]
        return dict(Counter(request_id for request_id in accepted if request_id))

    def limit_violations(self) -> dict[str, int]:
        """Calls that broke a limit, by name (LIMITS): send_tps, get_callback_tps, get_callback_ids, ..."""
        with self._state:
            return {name: self._violations[name] for name in LIMITS}

    def stats(self) -> dict[str, Any]:
        """Requests and peak calls in any second, by endpoint; limit violations; callbacks made and lost."""
        with self._state:
            requests = Counter(record["endpoint"] for record in self._requests)
            return {
                "requests": {endpoint.name: requests[endpoint.name] for endpoint in ENDPOINTS},
                "peak_calls_per_second": {
                    endpoint.name: self._peaks[endpoint.name] for endpoint in ENDPOINTS
                },
                "limit_violations": {name: self._violations[name] for name in LIMITS},
                "callbacks": {
                    "attempts": sum(not record["lost"] for record in self._callbacks),
                    "lost": sum(record["lost"] for record in self._callbacks),
                },
            }

    def wait_for_callbacks_idle(self, timeout: float) -> bool:
        """True once every planned report has happened and no callback is scheduled or in flight."""
        with self._state:
            return self._state.wait_for(lambda: self._pending == 0, timeout)

    # HTTP routing (called from request threads)

    def _handle(self, method: str, target: str, raw: bytes) -> Reply | None:
        path, _, query = target.partition("?")
        path = path.rstrip("/") or "/"
        if path.startswith("/_sim/"):
            return self._control(method, path, dict(parse_qsl(query)), raw)
        endpoint = _ENDPOINTS_BY_PATH.get(path)
        if endpoint is None:
            return json_reply({"error": f"no such resource: {path}"}, 404)
        if endpoint.method != method:
            return json_reply({"error": f"{path} takes {endpoint.method}"}, 405)
        body = dict(parse_qsl(query, keep_blank_values=True)) if method == "GET" else _json_object(raw)
        return self._serve(endpoint, body)

    def _control(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
        if method == "GET" and path == "/_sim/requests":
            return json_reply(self.requests(query.get("endpoint")))
        if method == "GET" and path == "/_sim/callbacks":
            return json_reply(self.callbacks())
        if method == "GET" and path == "/_sim/stats":
            return json_reply(self.stats())
        if method == "GET" and path == "/_sim/config":
            return json_reply(dataclasses.asdict(self.config))
        if method == "POST" and path == "/_sim/config":
            changes = _json_object(raw)
            if changes is None:
                return json_reply({"error": "the body must be a JSON object"}, 400)
            try:
                return json_reply(dataclasses.asdict(self.configure(**changes)))
            except ValueError as error:
                return json_reply({"error": str(error)}, 400)
        if method == "POST" and path == "/_sim/reset":
            self.reset()
            return json_reply({"reset": True})
        return json_reply({"error": f"no such resource: {method} {path}"}, 404)

    def _serve(self, endpoint: Endpoint, body: dict[str, Any] | None) -> Reply | None:
        """Log the request, apply latency and faults, let the endpoint answer, then deliver or lose it.

        A 5xx fault answers before any check: eSMS did nothing. A drop or timeout fault loses the answer
        of a request eSMS processed as usual, as a server whose answer met a closed connection or came
        after the client's read timeout (a client still waiting then hears 504): a valid send is accepted
        (its RequestId remembered, its reports planned) though the client never hears it.
        """
        request_id = body.get("RequestId") if body else None
        record: dict[str, Any] = {
            "endpoint": endpoint.name,
            "received_at": _now_iso(),
            "answered_at": None,
            "body": _redact(body),
            "request_id": request_id if isinstance(request_id, str) else None,
            "sandbox": bool(body and str(body.get("Sandbox")) == "1"),
            "accepted": False,
            "fault": None,
            "http_status": None,
            "code_result": None,
            "error_message": None,
            "detail": None,
            "sms_id": None,
            "outcome": None,
            "callbacks_lost": None,
        }
        with self._state:
            config = self._config
            record["seq"] = len(self._requests) + 1
            self._requests.append(record)
            self._count_traffic(endpoint.name)
            latency = self._draw_latency(config)
            fault = self._draw_fault(config)
            record["fault"] = fault
            error_status = self._rng.choice((500, 503)) if fault == "5xx" else 0
        self._stopping.wait(latency)

        reply: Reply | None = None
        if fault == "5xx":
            reply = html_reply(
                error_status, "Internal Server Error" if error_status == 500 else "Service Unavailable"
            )
        else:
            try:
                handled = self._handlers[endpoint.name](body, config)
            except Refusal as refusal:
                handled = _Handled(refusal.answer, log={"detail": refusal.detail or None})
            with self._state:  # logged at once: a test may wait for an acceptance whose answer is held
                record.update(answers.answer_summary(handled.answer), **handled.log)
            if fault == "timeout":
                self._stopping.wait(config.timeout_sleep_seconds)
                reply = html_reply(504, "Gateway Timeout")
            elif fault is None:
                reply = json_reply(handled.answer)
                if handled.early_callbacks is not None:
                    handled.early_callbacks.wait(config.early_callback_wait_seconds)
        with self._state:
            record["answered_at"] = _now_iso()
            record["http_status"] = reply.status if reply is not None else None
        return reply

    def _count_traffic(self, endpoint: str) -> None:
        """Call with the state lock held: the endpoint's calls in the last second, and their peak."""
        window = self._traffic.setdefault(endpoint, SlidingWindow())
        now = self._now()
        window.admit(now, 0)
        self._peaks[endpoint] = max(self._peaks[endpoint], window.count(now))

    def _now(self) -> float:
        return self._clock() + self._clock_offset

    def _draw_latency(self, config: SimulatorConfig) -> float:
        if isinstance(config.latency_ms, tuple):
            return self._rng.uniform(*config.latency_ms) / 1000.0
        return config.latency_ms / 1000.0

    def _draw_fault(self, config: SimulatorConfig) -> str | None:
        """One draw against the cumulative fault rates, so each rate is exact when they sum to <= 1."""
        rates = (("drop", config.drop_rate), ("timeout", config.timeout_rate), ("5xx", config.error_rate_5xx))
        if not any(rate for _, rate in rates):
            return None
        draw = self._rng.random()
        threshold = 0.0
        for fault, rate in rates:
            threshold += rate
            if draw < threshold:
                return fault
        return None

    def _authorized(self, fields: Mapping[str, str]) -> bool:
        # Both comparisons always run, in constant time, so timing reveals nothing about either key.
        key_ok = hmac.compare_digest(fields["ApiKey"].encode(), self._api_key)
        secret_ok = hmac.compare_digest(fields["SecretKey"].encode(), self._secret_key)
        return key_ok and secret_ok

    def _admit_send(self, api_key: str, config: SimulatorConfig) -> bool:
        """The account's token bucket; an empty one is a send_tps violation."""
        if not config.tps_limit:
            return True
        with self._state:
            now = self._now()
            bucket = self._buckets.setdefault(api_key, TokenBucket(now, config.bucket_capacity))
            if bucket.take(now, config.tps_limit, config.bucket_capacity):
                return True
            self._violations[SEND_TPS] += 1
            return False

    def _admit_status_call(self, endpoint: str, api_key: str, limit: int, violation: str) -> bool:
        with self._state:
            window = self._windows.setdefault((endpoint, api_key), SlidingWindow())
            if window.admit(self._now(), limit):
                return True
            self._violations[violation] += 1
            return False

    # Send endpoints

    def _zns_send(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        fields = text_fields(body, ZNS_TEXT_FIELDS)
        if fields is None or not fields["ApiKey"] or not fields["SecretKey"]:
            raise refuse("210", "the body is not a JSON object of text fields with ApiKey and SecretKey")
        self._check_sender(fields, config)
        return self._accept(
            check_zns_send(fields, cast(dict[str, Any], body).get("TempData"), config), config
        )

    def _sms_send(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        fields = text_fields(body, SMS_TEXT_FIELDS)
        if fields is None:
            raise Refusal(answers.invalid_request_answer(), "the body is not a JSON object of text fields")
        self._check_sender(fields, config)
        return self._accept(check_sms_send(fields, config), config)

    def _check_sender(self, fields: Mapping[str, str], config: SimulatorConfig) -> None:
        if not self._authorized(fields):
            raise refuse("101")
        if not self._admit_send(fields["ApiKey"], config):
            raise refuse("160", f"over tps_limit {config.tps_limit}/s")

    def _accept(self, send: ZnsSend | SmsSend, config: SimulatorConfig) -> _Handled:
        """The 24-hour RequestId check (one memory for both send endpoints) and acceptance, atomically."""
        with self._state:
            now = self._now()
            accepted_at = self._accepted_at.get(send.request_id) if send.request_id else None
            if accepted_at is not None and now - accepted_at < DEDUP_WINDOW_SECONDS:
                raise duplicate_request(send.request_id)
            sms_id = new_sms_id()
            accepted = answers.send_answer("100", sms_id=sms_id)
            if send.sandbox:
                return _Handled(accepted)
            if send.request_id:
                self._accepted_at[send.request_id] = now
            message = self._new_message(send, sms_id, now, config)
            self._messages[sms_id] = message
            log = {"accepted": True, "outcome": message.outcome, "callbacks_lost": message.callbacks_lost}
            chain = self._plan_reports(message, config)
            if not chain.steps:
                return _Handled(accepted, log=log)
            early = chain.calls_back and self._chance(config.early_callbacks)
            delay = 0.0 if early else config.callback_delay_seconds
            for step in range(len(chain.steps)):
                self._push(_Learning(chain, step), delay + step * config.callback_gap_seconds)
            self._push(_Delivery(chain, 0, 1), delay)
            return _Handled(accepted, chain.done if early else None, log)

    def _new_message(
        self, send: ZnsSend | SmsSend, sms_id: str, created_at: float, config: SimulatorConfig
    ) -> AcceptedMessage:
        """Call with the state lock held: an accepted message, with its outcome and loss draws."""
        zns = isinstance(send, ZnsSend)
        message = AcceptedMessage(
            channel=ZNS if zns else SMS,
            sms_id=sms_id,
            request_id=send.request_id,
            phone=send.phone,
            callback_url=send.callback_url,
            outcome=(
                self._pick_zns_outcome(send.phone, config)
                if zns
                else config.sms_phone_outcomes.get(send.phone, DELIVERED)
            ),
            created_at=created_at,
            portal_id=next(self._portal_ids),
            unit_price=config.unit_price if zns else config.sms_unit_price,
            campaign=send.campaign,
            content=send.content,
        )
        if isinstance(send, ZnsSend):
            message.zalo_msg_id = f"{self._rng.getrandbits(80):020x}"  # Zalo's msg_id: 20 hex digits
            message.oa_id, message.temp_id = send.oa_id, send.temp_id
            moment = vietnam_time(created_at, config)
            refused = refusal(send, moment, self._zalo_counts, config)
            message.outcome = refused or message.outcome  # drawn all the same: later draws stay put
        message.callbacks_lost = bool(send.callback_url) and self._chance(config.callback_loss_rate)
        return message

    def _pick_zns_outcome(self, phone: str, config: SimulatorConfig) -> str:
        if phone in config.phone_outcomes:
            return config.phone_outcomes[phone]
        suffixes = [suffix for suffix in config.suffix_outcomes if phone.endswith(suffix)]
        if suffixes:
            return config.suffix_outcomes[max(suffixes, key=len)]
        names = list(config.outcomes)
        return self._rng.choices(names, weights=[config.outcomes[name] for name in names])[0]

    def _chance(self, probability: float) -> bool:
        return probability >= 1.0 or (probability > 0.0 and self._rng.random() < probability)

    def _plan_reports(self, message: AcceptedMessage, config: SimulatorConfig) -> _Chain:
        """Call with the state lock held: the final report (none for no_report), with the quirks drawn."""
        sent = Report(SENT, sent=1, price=message.unit_price)
        steps: list[tuple[Report, bool]] = []
        final = message.final_report()
        if final is not None:
            steps.append((final, False))
        if self._chance(config.sent_first):
            steps.insert(len(steps) if self._chance(config.reorder) else 0, (sent, False))
        if final is not None and self._chance(config.duplicate_callbacks):
            steps.append((final, True))
        calls_back = bool(message.callback_url) and not message.callbacks_lost
        return _Chain(self._generation, message, steps, calls_back)

    # Status and account endpoints

    def _caller(
        self, body: dict[str, Any] | None, names: tuple[str, ...], unauthorized: answers.Answer
    ) -> dict[str, str]:
        """The fields of a status or account call with the right keys; else its refusal is raised."""
        fields = text_fields(body, ("ApiKey", "SecretKey", *names))
        if fields is None:
            raise Refusal(answers.invalid_request_answer(), "the body is not a JSON object of text fields")
        if not self._authorized(fields):
            raise Refusal(unauthorized)
        return fields

    def _get_callback(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """Replays the reports of up to get_callback_max_ids SMSIDs sent with a CallbackUrl from OAId.

        More SMSIDs than that: eSMS documents it answers for the first ones only (counted as a violation).
        """
        ids = body.get("ListRefid") if body else None
        if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
            raise Refusal(answers.invalid_request_answer(), "ListRefid is not a list of SMSIDs")
        fields = self._caller(body, ("OAId",), answers.get_callback_refusal("101"))
        limit = config.get_callback_tps_limit
        if not self._admit_status_call("get_callback", fields["ApiKey"], limit, GET_CALLBACK_TPS):
            raise Refusal(answers.get_callback_refusal("160"), f"over get_callback_tps_limit {limit}/s")
        log = {}
        with self._state:
            if len(ids) > config.get_callback_max_ids:
                self._violations[GET_CALLBACK_IDS] += 1
                log["detail"] = f"{len(ids)} SMSIDs: only the first {config.get_callback_max_ids} answered"
            items = []
            for sms_id in dict.fromkeys(ids[: config.get_callback_max_ids]):
                message = self._messages.get(sms_id)
                if (
                    message is not None
                    and message.channel == ZNS
                    and message.callback_url
                    and message.oa_id == fields["OAId"]
                ):
                    items.append(message.get_callback_item())
        return _Handled(answers.get_callback_answer(items), log=log)

    def _query_zns_status(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """One ZNS message's report by SMSID; 854 (the error table's "no data found") when eSMS has none."""
        fields = self._caller(body, ("SmsId", "SmsType"), answers.status_refusal("101"))
        limit = config.query_zns_status_tps_limit
        if not self._admit_status_call("query_zns_status", fields["ApiKey"], limit, QUERY_ZNS_STATUS_TPS):
            raise Refusal(answers.status_refusal("160"), f"over query_zns_status_tps_limit {limit}/s")
        if not fields["SmsId"]:
            raise Refusal(answers.status_refusal("851"))
        if fields["SmsType"] not in _QUERY_SMS_TYPES:
            raise Refusal(answers.status_refusal("118"), "SmsType must be 24 or 25")
        with self._state:
            message = self._messages.get(fields["SmsId"])
            if message is None or message.channel != ZNS:
                raise Refusal(answers.status_refusal("854"))
            data = message.zns_status_data()
        return _Handled({"CodeResult": "100", "Data": data}, log={"sms_id": message.sms_id})

    def _get_balance(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        self._caller(body, (), answers.balance_refusal())
        return _Handled(answers.balance_answer(config.balance))

    def _get_quota(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """DailyQuota as configured; RemainingQuota less each ZNS of the OA Zalo took this Vietnam day
        (zalo_rules.py: those it refused do not count)."""
        fields = self._caller(body, ("OAID",), answers.status_refusal("101"))
        if not fields["OAID"]:
            raise Refusal(answers.status_refusal("791"))
        with self._state:
            today = vietnam_time(self._now(), config).date()
            used = self._zalo_counts.oa_used(today, fields["OAID"])
        return _Handled(answers.quota_answer(config.daily_quota, max(0, config.daily_quota - used)))

    def _get_quality(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """The OA's configured level (oa_quality), else HIGH."""
        fields = self._caller(body, ("OAID",), answers.status_refusal("101"))
        if not fields["OAID"]:
            raise Refusal(answers.status_refusal("791"))
        return _Handled(answers.quality_answer(config.oa_quality.get(fields["OAID"], "HIGH")))

    def _get_template(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """Every registered template, in GetTemplate's ZNSTemplates shape (one list for any OAId)."""
        self._caller(body, ("OAId", "SmsType"), answers.status_refusal("101"))
        return _Handled(answers.template_list_answer(config.templates))

    def _get_zns_template_info(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        fields = self._caller(body, ("OAId", "TemplateId"), answers.template_info_refusal("101"))
        template = config.templates.get(fields["TemplateId"])
        if template is None:
            raise Refusal(
                answers.template_info_refusal("789"), f"TemplateId {fields['TemplateId']} is not registered"
            )
        return _Handled(answers.template_info_answer(fields["TemplateId"], template))

    def _get_sms_sent_data(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """Every message eSMS accepted (never a sandbox or refused send), of one SmsType, created in a range
        of Vietnam time, oldest first, a page at a time; each with its current report. No rate limit is
        documented, so none is simulated. The refusals of a bad query are chosen: see sent_data.py."""
        query = sent_data_query(self._caller(body, QUERY_FIELDS, answers.status_refusal("101")))
        with self._state:
            count_total, page = query.page_of(self._messages.values())
            items = [message.sent_data_item() for message in page]
        return _Handled(answers.sent_data_answer(count_total, items))

    def _get_send_status(self, body: dict[str, Any] | None, config: SimulatorConfig) -> _Handled:
        """One message's report by SMSID (RefId), in GetSendStatus's documented shape (CodeResponse, not
        CodeResult); an unknown SMSID gets 105, the table's "SMSID not found"."""
        fields = self._caller(body, ("RefId",), answers.send_status_answer({"CodeResponse": "101"}))
        with self._state:
            message = self._messages.get(fields["RefId"])
            if message is None:
                raise Refusal(answers.send_status_answer({"CodeResponse": "105", "SMSID": fields["RefId"]}))
            data = message.send_status_data()
        return _Handled(
            answers.send_status_answer({"CodeResponse": "100", **data}), log={"sms_id": message.sms_id}
        )

    # Report dispatch

    def _push(self, item: _Delivery | _Learning, delay: float) -> None:
        """Call with the state lock held."""
        if self._stopping.is_set():
            item.chain.done.set()
            return
        heapq.heappush(self._schedule, (time.monotonic() + delay, next(self._sequence), item))
        self._pending += 1
        self._state.notify_all()

    def _cancel_schedule(self) -> None:
        """Call with the state lock held."""
        for _, _, item in self._schedule:
            if isinstance(item, _Delivery):  # a chain's last callback, scheduled or in flight, ends it
                item.chain.done.set()
        self._pending -= len(self._schedule)
        self._schedule.clear()
        self._state.notify_all()

    def _run_scheduler(self) -> None:
        """eSMS learns each report when its step is due, and the worker pool calls back (retries and next
        steps come back through _push). The two are scheduled apart: a callback slow to deliver, or
        retried, never holds back what GetCallback and the status endpoints answer of later steps."""
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
                _, _, item = heapq.heappop(self._schedule)
                if isinstance(item, _Delivery):
                    executor.submit(self._deliver, item)
                    continue
                if item.chain.generation == self._generation:
                    item.chain.message.learn(item.chain.steps[item.step][0])
                self._pending -= 1
                self._state.notify_all()

    def _deliver(self, delivery: _Delivery) -> None:
        """eSMS calls back with the step's report (unless the message has no URL, or it is lost)."""
        chain = delivery.chain
        report, duplicate = chain.steps[delivery.step]
        parameters = chain.message.callback_parameters(report)
        with self._state:
            config = self._config
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        if chain.calls_back:
            url = chain.message.callback_url
            separator = "&" if "?" in url else "?"
            try:
                status = _http_get(
                    f"{url}{separator}{callback_query(parameters)}", config.callback_timeout_seconds
                )
            except TimeoutError:
                error = "timeout"
            except (OSError, http.client.HTTPException, ValueError) as failure:
                error = type(failure).__name__
        with self._state:
            self._pending -= 1
            if chain.generation != self._generation:
                chain.done.set()
            else:
                if chain.message.callback_url:
                    self._callbacks.append(
                        {
                            "sms_id": chain.message.sms_id,
                            "request_id": chain.message.request_id,
                            "channel": chain.message.channel,
                            "outcome": chain.message.outcome,
                            "send_status": report.send_status,
                            "duplicate": duplicate,
                            "lost": not chain.calls_back,
                            "attempt": delivery.attempt,
                            "url": redact_url(chain.message.callback_url),
                            "query": parameters,
                            "http_status": status,
                            "error": error,
                            "sent_at": _now_iso(),
                            "duration_ms": round((time.monotonic() - started) * 1000.0, 1),
                        }
                    )
                self._continue(delivery, config, timed_out=error == "timeout")
            self._state.notify_all()

    def _continue(self, delivery: _Delivery, config: SimulatorConfig, *, timed_out: bool) -> None:
        """Call with the state lock held: retry (on timeout only, as eSMS does), next step, or done."""
        chain = delivery.chain
        if timed_out and delivery.attempt <= config.callback_retries:
            self._push(
                dataclasses.replace(delivery, attempt=delivery.attempt + 1),
                config.callback_retry_delay_seconds,
            )
        elif delivery.step + 1 < len(chain.steps):
            self._push(_Delivery(chain, delivery.step + 1, 1), config.callback_gap_seconds)
        else:
            chain.done.set()


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


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
