"""The status API, called as a producer calls it: SigV4-signed (execute-api) with the session's
credentials. Locally the same signature is made with the local stack's fake keys (its HTTP API checks
that a request is signed, not the signature)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import NoCredentialsError

from zns_relay.models.status_api import ListedBy
from zns_relay_cli.deployment import Deployment
from zns_relay_cli.errors import CliError, UserError

MAX_PAGE = 100  # the API's largest page
TIMEOUT_SECONDS = 15


class StatusApi:
    def __init__(self, deployment: Deployment, http: requests.Session | None = None) -> None:
        credentials = deployment.session.get_credentials()
        if credentials is None:
            raise NoCredentialsError  # main() says how to give some, as for any other AWS call
        self._signer = SigV4Auth(credentials, "execute-api", deployment.region)
        self._base = deployment.status_api_url.rstrip("/")
        self._http = http or requests.Session()

    def message(self, request_id: str) -> dict[str, Any] | None:
        """The message and its history, or None when there is no such message."""
        status, body = self._get(f"/messages/{quote(request_id, safe='')}", {})
        return None if status == 404 else body

    def messages(
        self, by: ListedBy, value: str, window: Mapping[str, str], limit: int
    ) -> Iterator[dict[str, Any]]:
        """Up to `limit` messages of a phone, campaign or status (`since`/`until` in `window`), newest
        first, following the API's pages."""
        cursor: str | None = None
        remaining = limit
        while remaining > 0:
            page = {**window, "limit": str(min(remaining, MAX_PAGE))}
            if cursor:
                page["cursor"] = cursor
            status, body = self._get(by.path(value), page)
            if status == 404:
                raise CliError(
                    f"the status API has no list at {by.path(value)}: a stack deployed before the lists had"
                    " routes of their own needs the current template.yaml (and a campaign name with / ? #"
                    ' " or \\ cannot be named in a path)'
                )
            listed = body.get("messages", [])
            yield from listed[:remaining]
            remaining -= len(listed)
            cursor = body.get("nextCursor")
            if not cursor:
                return

    def _get(self, path: str, parameters: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        url = f"{self._base}{path}" + (f"?{urlencode(parameters)}" if parameters else "")
        request = AWSRequest(method="GET", url=url)
        self._signer.add_auth(request)
        try:
            response = self._http.get(url, headers=dict(request.headers), timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise CliError(
                f"the status API at {self._base} could not be reached ({type(error).__name__})"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 400:
            raise UserError(body.get("message", "the status API refused the request"))
        if response.status_code == 403:
            raise CliError(
                "the status API refused these credentials (403): the principal needs execute-api:Invoke on"
                " this route (the StatusApi*Arn outputs; docs/outcomes.md, Status API)"
            )
        if response.status_code not in (200, 404):
            raise CliError(f"the status API answered HTTP {response.status_code}")
        return response.status_code, body
