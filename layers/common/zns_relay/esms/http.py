"""The HTTP session every eSMS client uses: pooled, JSON, never retried by urllib3 on its own, never
redirected, traced without its query or error text, and bounded: an answer is read within the call's
connect and read timeouts together (a server trickling bytes cannot hold a thread), up to
MAX_ANSWER_BYTES, and parsed only when it nests no deeper than MAX_ANSWER_DEPTH."""

from __future__ import annotations

import http.client
import io
import json
import socket
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError

from zns_relay.config.observability import outbound_call

SUCCESS = "100"  # what the status and account endpoints answer when they answer
# eSMS's answers are small: a 500-row GetSmsSentData_V2 page, the largest, is well under 1 MB.
MAX_ANSWER_BYTES = 1_048_576
MAX_ANSWER_DEPTH = 16  # eSMS's answers nest three or four levels; json.loads recurses
_CHUNK_BYTES = 65_536
# When the answer being read must have ended (time.monotonic()), for this thread's call; None outside one.
_answer_deadline: ContextVar[float | None] = ContextVar("_answer_deadline", default=None)


class EsmsQueryFailed(Exception):
    """A status or account endpoint did not answer usefully: a transport or HTTP error, an answer that
    is not a JSON object, or a refusal (its code)."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.code = code  # eSMS's refusal code, when it gave one


class AnswerTooLarge(requests.RequestException):
    """eSMS's answer ran past MAX_ANSWER_BYTES; it was not read further."""


class NestedTooDeep(ValueError):
    """JSON nested deeper than MAX_ANSWER_DEPTH."""


def parse_json(text: str | bytes) -> Any:
    """An answer's JSON; ValueError when it is not JSON, NestedTooDeep when it nests deeper than
    MAX_ANSWER_DEPTH (which makes json.loads, or anything walking the value, raise RecursionError)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise NestedTooDeep("JSON nested too deep") from None
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_ANSWER_DEPTH:
                raise NestedTooDeep("JSON nested too deep")
            pending.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return value


def query(
    session: requests.Session,
    method: str,
    url: str,
    fields: Mapping[str, Any],
    timeout: float | tuple[float, float],
) -> dict[str, Any]:
    """One status or account call: a GET with the fields as its query, or a POST with them as its JSON
    body; its answer's JSON object, or EsmsQueryFailed."""
    try:
        if method == "GET":
            response = session.get(url, params=dict(fields), timeout=timeout)
        else:
            response = session.post(url, json=dict(fields), timeout=timeout)
    except AnswerTooLarge:
        raise EsmsQueryFailed(f"eSMS answered with more than {MAX_ANSWER_BYTES} bytes") from None
    except requests.Timeout:
        raise EsmsQueryFailed("eSMS did not answer in time") from None
    except requests.RequestException as error:
        # Never the exception's text: a GET's URL carries the keys.
        raise EsmsQueryFailed(f"could not reach eSMS ({type(error).__name__})") from None
    return json_answer(response)


def json_answer(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or EsmsQueryFailed."""
    if response.status_code != 200:
        raise EsmsQueryFailed(f"eSMS answered HTTP {response.status_code}")
    try:
        answer = parse_json(response.content)
    except NestedTooDeep:
        raise EsmsQueryFailed("eSMS answered with JSON nested too deep") from None
    except ValueError:
        raise EsmsQueryFailed("eSMS answered with a body that is not JSON") from None
    if not isinstance(answer, dict):
        raise EsmsQueryFailed("eSMS answered with JSON that is not an object")
    return answer


class _DeadlineReader(io.RawIOBase):
    """A response's socket reader whose every read ends by the call's deadline, not only within the
    read timeout (which applies to each read alone)."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline
        self._read_timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("eSMS's answer did not end in time")
        self._sock.settimeout(remaining if self._read_timeout is None else min(remaining, self._read_timeout))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = _answer_deadline.get()
        if deadline is not None:
            unbounded, raw = self.fp, sock.makefile("rb", buffering=0)
            self.fp = io.BufferedReader(_DeadlineReader(raw, sock, deadline))
            unbounded.close()  # nothing read from it yet; the socket lives on through `raw`


class _DeadlineHTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class _EsmsSession(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> None:
        """Answers a redirect with the redirect itself: following it would carry the keys (in the
        body, or a GET's query) to wherever the answer points."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """The call, traced (method, host, path, status, error class) and bounded; its answer read whole
        before it returns."""
        kwargs["stream"] = True  # read here, capped
        timeout = kwargs.get("timeout")
        total = sum(timeout) if isinstance(timeout, tuple) else timeout
        with outbound_call(request.method or "", request.url or "") as call:
            token = _answer_deadline.set(time.monotonic() + total if total is not None else None)
            try:
                response = super().send(request, **kwargs)
                call.status = response.status_code
                with response:
                    response._content = _read_capped(response)
            finally:
                _answer_deadline.reset(token)
        return response


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise AnswerTooLarge(f"more than {MAX_ANSWER_BYTES} bytes")
            chunks.append(chunk)
    except requests.ConnectionError as error:
        if error.args and isinstance(error.args[0], ReadTimeoutError):
            raise requests.ReadTimeout("eSMS's answer did not end in time") from None
        raise
    return b"".join(chunks)


def require_success(answer: Mapping[str, Any], code_field: str) -> None:
    """EsmsQueryFailed, naming eSMS's code and message, unless the answer's code is 100."""
    code = str(answer.get(code_field))
    if code != SUCCESS:
        raise EsmsQueryFailed(f"eSMS {code}: {answer.get('ErrorMessage') or 'refused'}", code)


def whole_number(value: Any) -> int | None:
    """A count as eSMS sends it (a number, or its text: the same field is either in different answers
    and editions of its docs); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def pooled_session(pool_size: int) -> requests.Session:
    """One session per client, thread-safe for our use, with a pool sized for the callers' threads.

    urllib3's own retries are off: whether a request may be repeated is the caller's decision (a send
    that may have reached eSMS must not be repeated blindly).
    """
    session = _EsmsSession()
    adapter = _DeadlineAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
    return session
