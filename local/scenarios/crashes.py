"""Crash injection for the local execution environments: the stack arms crashes, the environments die.

A `CrashPlan` is a directory shared by the stack and its environment processes:

    rules/<rule>.json        an armed crash: a point, a RequestId (or any), how many times, or a rate
    shots/<rule>.<shot>      created with O_EXCL when a crash fires, so each shot fires once across processes
    fired/<time>-<pid>.json  what fired (point, RequestId, environment), written before the process dies

An environment installs the hooks (`install_crash_hooks`) at its cold start, before the handler module
is imported; nothing of this is in the deployed code. The hooks match a crash to a message by its
RequestId: the eSMS request body's "RequestId", a DynamoDB UpdateItem's Key {"request_id": {"S": ...}}, or
the "requestId" of a status event in a PutEvents call.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class CrashPoint(StrEnum):
    """Where the environment dies: at a point of a send, or once a status event is published."""

    BEFORE_SEND = "before_send"  # the message is claimed, the eSMS POST is about to go out
    MID_SEND = "mid_send"  # the POST is written, its answer not yet read
    AFTER_ANSWER = "after_answer"  # eSMS's answer is read (or its wait failed), nothing written yet
    AFTER_WRITE = "after_write"  # the result's UpdateItem answered, the invocation not yet returned
    # The publisher's PutEvents with the message's status event succeeded, the invocation not yet returned:
    # the stream retries the batch and its events are published again (with the same eventIds).
    AFTER_PUT_EVENTS = "after_put_events"
    # FallbackFunction's SendMessage of an SMS fallback succeeded, the invocation not yet returned: the
    # stream retries the batch and the SMS is queued again (under the same RequestId).
    AFTER_FALLBACK_QUEUED = "after_fallback_queued"


@dataclass(frozen=True)
class CrashRecord:
    """One crash that fired."""

    point: CrashPoint
    request_id: str
    environment: str  # e.g. "SenderFunction#3"


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    point: CrashPoint
    request_id: str | None  # None: any RequestId
    times: int
    probability: float | None  # set: fire for a seeded random share of RequestIds, once each
    seed: int

    def shots(self, point: CrashPoint, request_id: str) -> list[str]:
        """The shot names of which one must still be free for this rule to fire here (none: it does not)."""
        if point != self.point or self.request_id not in (None, request_id):
            return []
        if self.probability is None:
            return [f"{self.rule_id}.{shot}" for shot in range(self.times)]
        if _draw(self.seed, point, request_id) >= self.probability:
            return []
        return [f"{self.rule_id}.{_digest(request_id)}"]


class CrashPlan:
    """The crashes armed for a stack's environments, and the record of those that fired."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._rules = root / "rules"
        self._shots = root / "shots"
        self._fired = root / "fired"
        for directory in (self._rules, self._shots, self._fired):
            directory.mkdir(parents=True, exist_ok=True)

    def arm(self, point: CrashPoint | str, request_id: str | None = None, times: int = 1) -> None:
        """Crash the next `times` environments that reach `point` for `request_id` (None: any RequestId)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self._add(CrashPoint(point), request_id=request_id, times=times, probability=None, seed=0)

    def arm_random(self, point: CrashPoint | str, probability: float, seed: int) -> None:
        """Crash at `point` for a share `probability` of RequestIds, each at most once.

        Which RequestIds is decided by `seed` alone (a hash, not the order of arrival), so a run repeats.
        """
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be in [0, 1]")
        self._add(CrashPoint(point), request_id=None, times=1, probability=probability, seed=seed)

    def disarm(self) -> None:
        """Forget every armed crash (those that fired stay recorded)."""
        for path in self._rules.glob("*.json"):
            path.unlink(missing_ok=True)

    def fired(self) -> list[CrashRecord]:
        """Every crash that fired, oldest first."""
        records = []
        for path in sorted(self._fired.glob("*.json")):
            document = json.loads(path.read_text())
            records.append(
                CrashRecord(CrashPoint(document["point"]), document["request_id"], document["environment"])
            )
        return records

    # In the environment processes

    def claim(self, point: CrashPoint, request_id: str) -> bool:
        """True if an armed crash fires here; its shot is taken, so no other process fires it again."""
        for rule in self._armed():
            for shot in rule.shots(point, request_id):
                try:
                    os.close(os.open(self._shots / shot, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    continue
                return True
        return False

    def record(self, crash: CrashRecord) -> None:
        """Keep what fired, complete (written aside, then renamed in) before the process dies."""
        name = f"{time.time_ns():020d}-{os.getpid()}"
        partial = self._fired / f".{name}.partial"
        partial.write_text(json.dumps(asdict(crash)))
        partial.replace(self._fired / f"{name}.json")

    def _armed(self) -> list[_Rule]:
        rules = []
        for path in sorted(self._rules.glob("*.json")):
            try:
                document = json.loads(path.read_text())
            except FileNotFoundError:  # disarmed meanwhile
                continue
            rules.append(_Rule(**{**document, "point": CrashPoint(document["point"])}))
        return rules

    def _add(
        self, point: CrashPoint, *, request_id: str | None, times: int, probability: float | None, seed: int
    ) -> None:
        rule = _Rule(
            f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}", point, request_id, times, probability, seed
        )
        partial = self.root / f".{rule.rule_id}.partial"
        partial.write_text(json.dumps(asdict(rule)))
        partial.replace(self._rules / f"{rule.rule_id}.json")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _draw(seed: int, point: CrashPoint, request_id: str) -> float:
    """A number in [0, 1) fixed by the seed, the point and the RequestId."""
    digest = hashlib.sha256(f"{seed}:{point}:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def install_crash_hooks(plan: CrashPlan, environment: str) -> None:
    """Hook the libraries the handler will use, in this (environment) process, before it imports them.

    requests' HTTPAdapter.send sees every eSMS POST (any session, created now or later); urllib3's
    getresponse marks the moment the request is written and the answer not yet read; the default
    boto3 session's event system, which every client created from it later inherits, sees UpdateItem,
    PutEvents and SendMessage.
    """
    _CrashHooks(plan, environment).install()


class _CrashHooks:
    def __init__(self, plan: CrashPlan, environment: str) -> None:
        self._plan = plan
        self._environment = environment
        self._lock = threading.Lock()
        # RequestIds whose eSMS POST ended here (answered or not) and whose next write is the result's.
        self._sent: set[str] = set()
        self._posting = threading.local()  # the RequestId of the POST this thread is making
        # One crash per process: of two threads reaching armed points at once, the second waits, and
        # dies with the process before it takes a shot (a shot taken is always recorded and fired).
        self._dying = threading.Lock()

    def install(self) -> None:
        import boto3  # noqa: PLC0415 - only environments with a crash plan load these here
        import requests.adapters  # noqa: PLC0415
        import urllib3.connection  # noqa: PLC0415

        send = requests.adapters.HTTPAdapter.send
        getresponse = urllib3.connection.HTTPConnection.getresponse
        hooks = self

        def hooked_send(
            adapter: requests.adapters.HTTPAdapter, request: Any, *args: Any, **kwargs: Any
        ) -> Any:
            return hooks._send(lambda: send(adapter, request, *args, **kwargs), request)

        def hooked_getresponse(
            connection: urllib3.connection.HTTPConnection, *args: Any, **kwargs: Any
        ) -> Any:
            hooks._answer_awaited()
            return getresponse(connection, *args, **kwargs)

        requests.adapters.HTTPAdapter.send = hooked_send  # type: ignore[method-assign, assignment]
        urllib3.connection.HTTPConnection.getresponse = hooked_getresponse  # type: ignore[method-assign, assignment]
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb.UpdateItem", self._note_key)
        boto3.DEFAULT_SESSION.events.register("after-call.dynamodb.UpdateItem", self._after_update)
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.events.PutEvents", self._note_events)
        boto3.DEFAULT_SESSION.events.register("after-call.events.PutEvents", self._after_put_events)
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.sqs.SendMessage", self._note_job)
        boto3.DEFAULT_SESSION.events.register("after-call.sqs.SendMessage", self._after_job_queued)

    def _send(self, send: Callable[[], Any], request: Any) -> Any:
        request_id = _esms_request_id(request)
        if request_id is None:
            return send()
        self._crash_if(CrashPoint.BEFORE_SEND, request_id)
        self._posting.request_id = request_id
        try:
            response = send()
        except Exception:
            # Written, but no answer came (the read timed out on a busy machine): the POST has ended all
            # the same, and a crash waiting for an answer might never come (the retry's may not, if a
            # callback ends the message first). Not written at all (no connection): eSMS got nothing.
            written = getattr(self._posting, "request_id", None) is None  # _answer_awaited cleared it
            self._post_ended(request_id)
            if written:
                self._crash_if(CrashPoint.AFTER_ANSWER, request_id)
            raise
        self._post_ended(request_id)
        with self._dying:
            if self._plan.claim(CrashPoint.AFTER_ANSWER, request_id):
                _ = response.content  # the whole answer is in
                self._die(CrashPoint.AFTER_ANSWER, request_id)
        return response

    def _post_ended(self, request_id: str) -> None:
        self._posting.request_id = None
        with self._lock:
            self._sent.add(request_id)

    def _answer_awaited(self) -> None:
        request_id = getattr(self._posting, "request_id", None)
        if request_id is not None:
            self._posting.request_id = None
            self._crash_if(CrashPoint.MID_SEND, request_id)

    def _note_key(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        request_id = params.get("Key", {}).get("request_id", {}).get("S")
        if isinstance(request_id, str):
            context["crash_request_id"] = request_id

    def _after_update(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        """The first UpdateItem of a message answered after its eSMS POST is the result's write: committed,
        or refused because a callback moved the message first (a crash waiting for a commit would then
        never come, and whether it fired would depend on which of the two was faster)."""
        request_id = context.get("crash_request_id")
        if request_id is None or http_response.status_code >= 500:
            return
        with self._lock:
            if request_id not in self._sent:
                return
            self._sent.discard(request_id)
        self._crash_if(CrashPoint.AFTER_WRITE, request_id)

    def _note_events(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        request_ids = []
        for entry in params.get("Entries", []):
            try:
                request_ids.append(json.loads(entry.get("Detail", "{}"))["requestId"])
            except (ValueError, KeyError, TypeError):
                continue
        context["crash_request_ids"] = request_ids

    def _after_put_events(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code != 200:
            return
        for request_id in context.get("crash_request_ids", []):
            self._crash_if(CrashPoint.AFTER_PUT_EVENTS, request_id)

    def _note_job(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """An SMS fallback's job names its RequestId as `request_id` (FallbackJob)."""
        try:
            context["crash_job_request_id"] = json.loads(params.get("MessageBody", ""))["request_id"]
        except (ValueError, KeyError, TypeError):
            return

    def _after_job_queued(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        request_id = context.get("crash_job_request_id")
        if http_response.status_code == 200 and isinstance(request_id, str):
            self._crash_if(CrashPoint.AFTER_FALLBACK_QUEUED, request_id)

    def _crash_if(self, point: CrashPoint, request_id: str) -> None:
        with self._dying:
            if self._plan.claim(point, request_id):
                self._die(point, request_id)

    def _die(self, point: CrashPoint, request_id: str) -> None:
        """Record the crash, say so in the log, and go as an OOM kill does: SIGKILL, nothing cleaned up."""
        self._plan.record(CrashRecord(point, request_id, self._environment))
        sys.stderr.write(f"crash injected: {point} for RequestId {request_id}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def _esms_request_id(request: Any) -> str | None:
    """The RequestId of an eSMS send: a POST whose JSON body names one."""
    if request.method != "POST" or not request.body:
        return None
    try:
        body = json.loads(request.body)
    except (TypeError, ValueError):
        return None
    request_id = body.get("RequestId") if isinstance(body, dict) else None
    return request_id if isinstance(request_id, str) else None
