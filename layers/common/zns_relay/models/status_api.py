"""The status API's shapes: the lists a request may ask for, and what it answers about a message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from zns_relay.models.contract import normalise_phone
from zns_relay.models.errors import InvalidQuery
from zns_relay.models.events import mask_phone
from zns_relay.models.state import FINAL_STATUSES, Channel, MessageStatus, iso_of_epoch

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100  # BatchGetItem reads at most 100 keys a call
MAX_CAMPAIGN_CHARS = 254
EARLIEST = "0000"  # below every ISO time: no lower bound
LATEST = "9999"  # above every ISO time: no upper bound


class ListedBy(StrEnum):
    """What a list is of: one route each (`GET /phones/{phone}/messages`, ...), so that an IAM policy
    can allow or deny each, or one campaign's, by the route's ARN."""

    PHONE = "phone"
    CAMPAIGN = "campaign"
    STATUS = "status"

    @property
    def collection(self) -> str:
        return {"phone": "phones", "campaign": "campaigns", "status": "statuses"}[self.value]

    def path(self, value: str) -> str:
        """The request path of this list of `value` (any character escaped)."""
        return f"/{self.collection}/{quote(value, safe='')}/messages"


PAGING_PARAMETERS = ("since", "until", "limit", "cursor")


@dataclass(frozen=True)
class ListQuery:
    """A valid list request. The times bound when the message was created (phone, campaign), or when it
    reached its status (status); both ends included."""

    by: ListedBy
    value: str  # the phone as stored (0xxxxxxxxx), the campaign, or the status
    since: str = EARLIEST
    until: str = LATEST
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    @classmethod
    def parse(cls, by: ListedBy, value: str, parameters: Mapping[str, str]) -> ListQuery:
        """The query of the list of `value` (the route's path parameter) with these query-string
        parameters, or InvalidQuery saying what is wrong."""
        unknown = sorted(set(parameters) - set(PAGING_PARAMETERS))
        if unknown:
            raise InvalidQuery(
                f"unknown parameter {unknown[0]!r}: a list takes since, until, limit and cursor"
            )
        since = _time(parameters, "since", EARLIEST)
        until = _time(parameters, "until", LATEST)
        if since > until:
            raise InvalidQuery("since is later than until")
        cursor = parameters.get("cursor")
        if cursor is not None and not cursor:
            raise InvalidQuery("cursor: empty (leave it out for the first page)")
        return cls(by, _value(by, value), since, until, _limit(parameters.get("limit")), cursor)


def loggable(path_parameters: Mapping[str, str]) -> dict[str, str]:
    """A request's path parameters as a log may show them: the phone masked, as everywhere else."""
    return {
        name: mask_phone(value) if name == ListedBy.PHONE else value
        for name, value in path_parameters.items()
    }


def _value(by: ListedBy, raw: str) -> str:
    if by is ListedBy.PHONE:
        try:
            return normalise_phone(raw)
        except ValueError as error:
            raise InvalidQuery(f"phone: {error}") from None
    if by is ListedBy.CAMPAIGN:
        if not raw or len(raw) > MAX_CAMPAIGN_CHARS:
            raise InvalidQuery(f"campaign: 1 to {MAX_CAMPAIGN_CHARS} characters")
        return raw
    if raw not in MessageStatus.__members__:
        raise InvalidQuery(f"status: one of {', '.join(MessageStatus)} (got {raw!r})")
    return raw


def _time(parameters: Mapping[str, str], name: str, default: str) -> str:
    raw = parameters.get(name)
    if raw is None:
        return default
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidQuery(f"{name}: an ISO 8601 time with an offset, e.g. 2026-11-27T18:00:00+07:00")
    # As the items hold times: UTC, milliseconds, "Z".
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidQuery(f"limit: a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


class _View(BaseModel):
    # Built at the first answer (defer_build): the sender imports this module for its limits only.
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, defer_build=True)


class HistoryView(_View):
    status: MessageStatus | None = None  # None: a note that changed no status
    at: str
    detail: str = ""
    data: dict[str, Any] | None = None


class MessageView(_View):
    """What the API tells about a message (camelCase, like the status events)."""

    request_id: str
    status: MessageStatus
    is_final: bool
    status_at: str | None = None
    phone: str | None = None
    campaign: str | None = None
    temp_id: str | None = None
    oa_id: str | None = None
    sms_id: str | None = None
    sandbox: bool = False
    attempts: int = 0
    esms_code: str | None = None
    error: str | None = None
    created_at: str
    updated_at: str
    channel: Channel = Channel.ZNS  # SMS: the SMS fallback of the message `fallbackFor`
    fallback_for: str | None = None
    fallback_request_id: str | None = None  # on a ZNS message: the SMS sent instead of it
    next_attempt_at: str | None = None  # DEFERRED: when it is sent again
    history: list[HistoryView] | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> MessageView:
        """The view of an item read with the viewable attributes only (store.message_index)."""
        status = MessageStatus(item["status"])
        shown = {
            key: value
            for key, value in item.items()
            if key not in {"campaign_id", "status", "next_attempt_at"}
        }
        deferred_until = item.get("next_attempt_at") if status is MessageStatus.DEFERRED else None
        return cls(
            status=status,
            is_final=status in FINAL_STATUSES,
            campaign=item.get("campaign_id"),
            next_attempt_at=iso_of_epoch(deferred_until),
            **shown,
        )

    def answer(self) -> dict[str, Any]:
        """The JSON answer; a listed message (read without its history) has no `history` key."""
        return self.model_dump(
            mode="json", by_alias=True, exclude={"history"} if self.history is None else None
        )


class MessagePage(_View):
    """A page of a list: its messages, newest first, and `nextCursor` while there are more."""

    messages: list[MessageView]
    next_cursor: str | None = None

    def answer(self) -> dict[str, Any]:
        """The JSON answer; the last page has no `nextCursor` key."""
        answer: dict[str, Any] = {"messages": [view.answer() for view in self.messages]}
        if self.next_cursor is not None:
            answer["nextCursor"] = self.next_cursor
        return answer


class ErrorAnswer(_View):
    """A request the API cannot answer: 400 with the reason, 404 for an unknown RequestId or route."""

    message: str
