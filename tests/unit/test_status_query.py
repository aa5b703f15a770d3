"""The status API's lists: what a valid request means, the specific reason for a bad one, each list's
route, and what a log may show of a request."""

from __future__ import annotations

import pytest

from zns_relay.models.errors import InvalidQuery
from zns_relay.models.status_api import (
    DEFAULT_PAGE_SIZE,
    EARLIEST,
    LATEST,
    ListedBy,
    ListQuery,
    MessageView,
    loggable,
)


@pytest.mark.parametrize(
    ("by", "value", "parameters", "expected"),
    [
        (ListedBy.PHONE, "+84 90 188 8484", {}, ListQuery(ListedBy.PHONE, "0901888484")),
        (ListedBy.PHONE, "84901888484", {"limit": "10"}, ListQuery(ListedBy.PHONE, "0901888484", limit=10)),
        (ListedBy.CAMPAIGN, "autumn-sale", {}, ListQuery(ListedBy.CAMPAIGN, "autumn-sale")),
        (
            ListedBy.STATUS,
            "FAILED",
            {"since": "2026-11-27T07:00:00+07:00", "until": "2026-11-27T08:30:00Z"},
            ListQuery(ListedBy.STATUS, "FAILED", "2026-11-27T00:00:00.000Z", "2026-11-27T08:30:00.000Z"),
        ),
        (
            ListedBy.STATUS,
            "DELIVERED",
            {"cursor": "abc"},
            ListQuery(ListedBy.STATUS, "DELIVERED", cursor="abc"),
        ),
    ],
)
def test_a_valid_request_is_read_as_the_stored_values_compare(
    by: ListedBy, value: str, parameters: dict[str, str], expected: ListQuery
) -> None:
    assert ListQuery.parse(by, value, parameters) == expected


def test_defaults_take_the_newest_page_of_any_time() -> None:
    query = ListQuery.parse(ListedBy.CAMPAIGN, "c", {})

    assert (query.since, query.until, query.limit, query.cursor) == (
        EARLIEST,
        LATEST,
        DEFAULT_PAGE_SIZE,
        None,
    )
    assert EARLIEST < "2026-11-27T08:00:00.000Z" < LATEST


@pytest.mark.parametrize(
    ("by", "value", "parameters", "reason"),
    [
        (ListedBy.PHONE, "12345", {}, "phone: not a Vietnamese mobile number"),
        (ListedBy.CAMPAIGN, "", {}, "campaign: 1 to 254 characters"),
        (ListedBy.CAMPAIGN, "c" * 255, {}, "campaign: 1 to 254 characters"),
        (
            ListedBy.STATUS,
            "delivered",
            {},
            "status: one of SENDING, RETRYING, DEFERRED, ACCEPTED, SENT, DELIVERED, FAILED",
        ),
        (ListedBy.STATUS, "SENT", {"since": "yesterday"}, "since: an ISO 8601 time with an offset"),
        (
            ListedBy.STATUS,
            "SENT",
            {"until": "2026-11-27T08:00:00"},
            "until: an ISO 8601 time with an offset",
        ),
        (
            ListedBy.STATUS,
            "SENT",
            {"since": "2026-11-28T00:00:00Z", "until": "2026-11-27T00:00:00Z"},
            "since is later than until",
        ),
        (ListedBy.STATUS, "SENT", {"limit": "0"}, "limit: a whole number from 1 to 100"),
        (ListedBy.STATUS, "SENT", {"limit": "101"}, "limit: a whole number from 1 to 100"),
        (ListedBy.STATUS, "SENT", {"limit": "ten"}, "limit: a whole number from 1 to 100"),
        (ListedBy.STATUS, "SENT", {"cursor": ""}, "cursor: empty"),
        (ListedBy.STATUS, "SENT", {"sort": "asc"}, "unknown parameter 'sort'"),
        # The selector is the path's: a second one in the query string is refused, not ignored
        (ListedBy.CAMPAIGN, "autumn-sale", {"phone": "0901888484"}, "unknown parameter 'phone'"),
    ],
)
def test_a_bad_filter_is_refused_with_its_specific_reason(
    by: ListedBy, value: str, parameters: dict[str, str], reason: str
) -> None:
    with pytest.raises(InvalidQuery) as refused:
        ListQuery.parse(by, value, parameters)

    assert refused.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("by", "value", "path"),
    [
        (ListedBy.PHONE, "+84 90 188 8484", "/phones/%2B84%2090%20188%208484/messages"),
        (ListedBy.CAMPAIGN, "autumn/sale", "/campaigns/autumn%2Fsale/messages"),
        (ListedBy.STATUS, "FAILED", "/statuses/FAILED/messages"),
    ],
)
def test_each_list_has_its_own_route_with_the_value_escaped(by: ListedBy, value: str, path: str) -> None:
    assert by.path(value) == path


def test_a_logged_phone_is_masked_and_the_other_parameters_kept() -> None:
    assert loggable({"phone": "0901888484"}) == {"phone": "090****484"}
    assert loggable({"campaign": "autumn-sale"}) == {"campaign": "autumn-sale"}
    assert loggable({"request_id": "order-1"}) == {"request_id": "order-1"}


def test_a_view_names_fields_as_events_do_and_lists_leave_out_the_history() -> None:
    item = {
        "request_id": "r-1",
        "status": "DELIVERED",
        "campaign_id": "autumn-sale",
        "created_at": "2026-11-27T08:00:00.000Z",
        "updated_at": "2026-11-27T08:00:02.000Z",
    }

    listed = MessageView.of(item).answer()
    whole = MessageView.of({**item, "history": [{"status": "DELIVERED", "at": "t", "detail": "d"}]}).answer()

    assert listed["requestId"] == "r-1" and listed["campaign"] == "autumn-sale" and listed["isFinal"] is True
    assert "history" not in listed
    assert whole["history"] == [{"status": "DELIVERED", "at": "t", "detail": "d", "data": None}]
