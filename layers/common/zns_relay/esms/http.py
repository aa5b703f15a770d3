"""The HTTP session every eSMS client uses: pooled, JSON, never retried by urllib3 on its own, never
redirected."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


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
