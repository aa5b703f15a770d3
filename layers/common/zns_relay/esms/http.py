"""The HTTP session every eSMS client uses: pooled, JSON, never retried by urllib3 on its own, never
redirected."""

from __future__ import annotations

import json
from typing import Any

import requests
from requests.adapters import HTTPAdapter

SUCCESS = "100"  # what the status and account endpoints answer when they answer


class EsmsQueryFailed(Exception):
    """A status or account endpoint did not answer usefully: a transport or HTTP error, an answer that
    is not a JSON object, or a refusal (its code)."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.code = code  # eSMS's refusal code, when it gave one


def json_answer(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or EsmsQueryFailed."""
    if response.status_code != 200:
        raise EsmsQueryFailed(f"eSMS answered HTTP {response.status_code}")
    try:
        answer = json.loads(response.text)
    except ValueError:
        raise EsmsQueryFailed("eSMS answered with a body that is not JSON") from None
    if not isinstance(answer, dict):
        raise EsmsQueryFailed("eSMS answered with JSON that is not an object")
    return answer


class _NoRedirects(requests.Session):
    """Answers a redirect with the redirect itself: following it would carry the keys (in the body, or
    a GET's query) to wherever the answer points."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def pooled_session(pool_size: int) -> requests.Session:
    """One session per client, thread-safe for our use, with a pool sized for the callers' threads.

    urllib3's own retries are off: whether a request may be repeated is the caller's decision (a send
    that may have reached eSMS must not be repeated blindly).
    """
    session = _NoRedirects()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
    return session
