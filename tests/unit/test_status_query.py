"""The status API's list filters: what a valid request means, and the specific reason for a bad one."""

from __future__ import annotations

import pytest

from zns_relay.models.errors import InvalidQuery
from zns_relay.models.lookup import DEFAULT_PAGE_SIZE, EARLIEST, LATEST, ListedBy, ListQuery, MessageView


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"phone": "+84 90 188 8484"}, ListQuery(ListedBy.PHONE, "0901888484")),
        ({"phone": "84901888484", "limit": "10"}, ListQuery(ListedBy.PHONE, "0901888484", limit=10)),
        ({"campaign": "autumn-sale"}, ListQuery(ListedBy.CAMPAIGN, "autumn-sale")),
        (
            {"status": "FAILED", "since": "2026-11-27T07:00:00+07:00", "until": "2026-11-27T08:30:00Z"},
            ListQuery(ListedBy.STATUS, "FAILED", "2026-11-27T00:00:00.000Z", "2026-11-27T08:30:00.000Z"),
        ),
        ({"status": "DELIVERED", "cursor": "abc"}, ListQuery(ListedBy.STATUS, "DELIVERED", cursor="abc")),
    ],
)
def test_a_valid_request_is_read_as_the_stored_values_compare(
    parameters: dict[str, str], expected: ListQuery
) -> None:
    assert ListQuery.parse(parameters) == expected


def test_defaults_take_the_newest_page_of_any_time() -> None:
    query = ListQuery.parse({"campaign": "c"})

    assert (query.since, query.until, query.limit, query.cursor) == (
        EARLIEST,
        LATEST,
        DEFAULT_PAGE_SIZE,
        None,
    )
    assert EARLIEST < "2026-11-27T08:00:00.000Z" < LATEST


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({}, "filter by exactly one of phone, campaign or status"),
        (
            {"phone": "0901888484", "status": "SENT"},
            "filter by exactly one of phone, campaign or status (got phone, status)",
        ),
        ({"phone": "12345"}, "phone: not a Vietnamese mobile number"),
        ({"campaign": ""}, "campaign: 1 to 254 characters"),
        ({"campaign": "c" * 255}, "campaign: 1 to 254 characters"),
        ({"status": "delivered"}, "status: one of SENDING, RETRYING, ACCEPTED, SENT, DELIVERED, FAILED"),
        ({"status": "SENT", "since": "yesterday"}, "since: an ISO 8601 time with an offset"),
        ({"status": "SENT", "until": "2026-11-27T08:00:00"}, "until: an ISO 8601 time with an offset"),
        (
            {"status": "SENT", "since": "2026-11-28T00:00:00Z", "until": "2026-11-27T00:00:00Z"},
            "since is later than until",
        ),
        ({"status": "SENT", "limit": "0"}, "limit: a whole number from 1 to 100"),
        ({"status": "SENT", "limit": "101"}, "limit: a whole number from 1 to 100"),
        ({"status": "SENT", "limit": "ten"}, "limit: a whole number from 1 to 100"),
        ({"status": "SENT", "cursor": ""}, "cursor: empty"),
        ({"status": "SENT", "sort": "asc"}, "unknown parameter 'sort'"),
    ],
)
def test_a_bad_filter_is_refused_with_its_specific_reason(parameters: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        ListQuery.parse(parameters)

    assert refused.value.reason.startswith(reason)


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
