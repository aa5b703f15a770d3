"""One conditional UpdateItem of a message item, in parts (SET and REMOVE clauses, names and values),
and the condition that keeps a delivery report to the item it belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zns_relay.models.state import BEFORE_ACCEPTANCE, FINAL_STATUSES, Channel, MessageStatus, iso_time
from zns_relay.store.indexes import awaiting_shard
from zns_relay.store.records import Written

# Flags an item holds only when true (absent: false), to keep it small.
ABSENT_WHEN_FALSE = frozenset({"sandbox"})


@dataclass(frozen=True)
class MoreChanges:
    """What a transition does besides its move (MessageStore.transition's `more`): attributes it removes,
    counters it adds one to, values it appends to lists, and a further condition (with its values) the
    item must meet."""

    removing: tuple[str, ...] = ()
    counting: tuple[str, ...] = ()
    appending: Mapping[str, list[Any]] = field(default_factory=dict)
    condition: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)

    def add_to(self, write: Write) -> str:
        """Add the changes to `write`; the clause its condition gains (empty: none)."""
        write.remove(*self.removing)
        write.count(*self.counting)
        for name, values in self.appending.items():
            write.append(name, values)
        write.values.update(self.values)
        return f" AND ({self.condition})" if self.condition else ""


@dataclass(frozen=True)
class ReportMatch:
    """What an item must hold for a delivery report to change it (zns_relay.reports.delivery): the report's
    SMSID, once the item knows one; a channel the report's TypeId names; and, for a callback, its URL's
    nonce. Checked in the write's own condition, so that nothing can come between check and write.

    An item without an SMSID learns the report's, from the reconciler's answers (asked by an SMSID it
    found in eSMS's list) at any time, but from a callback only while SENDING or RETRYING: eSMS's
    callback may come before our record of its answer (the race of a send), while one for a message
    settled without an SMSID (ACCEPTED through a 124) may be forged with a leaked URL, and would pin a
    wrong SMSID for ever; the reconciler finds that message's SMSID in eSMS's list instead."""

    sms_id: str
    channels: frozenset[Channel]
    url_nonce: str | None = None  # None: not a callback (the reconciler's answers, asked by SMSID)

    def condition(self, write: Write) -> str:
        if not self.channels:
            raise ValueError("a report of no channel we send matches no message")
        unknown = "attribute_not_exists(sms_id)"
        if self.url_nonce is not None:
            unknown = f"({unknown} AND {write.status_in(BEFORE_ACCEPTANCE, 'learning')})"
        # A deferred message's refused attempts (zns_relay.reports.deferral) have reported for good.
        clauses = [
            f"({unknown} OR sms_id = :report_sms_id)",
            "(attribute_not_exists(refused_sms_ids) OR NOT contains(refused_sms_ids, :report_sms_id))",
        ]
        write.values[":report_sms_id"] = self.sms_id
        if self.url_nonce is not None:
            clauses.append("callback_nonce = :url_nonce")
            write.values[":url_nonce"] = self.url_nonce
        if self.channels != frozenset(Channel):
            write.names["#channel"] = "channel"
            keys = []
            for index, channel in enumerate(sorted(self.channels)):
                keys.append(f":channel{index}")
                write.values[keys[-1]] = channel.value
            clause = f"#channel IN ({', '.join(keys)})"
            if Channel.ZNS in self.channels:  # an item written before channels were recorded is a ZNS one
                clause = f"(attribute_not_exists(#channel) OR {clause})"
            clauses.append(clause)
        return " AND ".join(clauses)

    def refusal(self, item: Mapping[str, Any]) -> Written:
        """Why a write under this match was refused, from the item as it stood."""
        if self.url_nonce is not None and item.get("callback_nonce") != self.url_nonce:
            return Written.STALE_URL
        channel = Channel(item.get("channel", Channel.ZNS.value))
        if item.get("sms_id", self.sms_id) != self.sms_id or channel not in self.channels:
            return Written.MISMATCHED
        if self.sms_id in item.get("refused_sms_ids", ()):
            return Written.MISMATCHED
        waiting = MessageStatus(item["status"]) not in BEFORE_ACCEPTANCE | FINAL_STATUSES
        if self.url_nonce is not None and "sms_id" not in item and waiting:
            return Written.UNVOUCHED
        if MessageStatus(item["status"]) in BEFORE_ACCEPTANCE:
            return Written.UNSETTLED
        return Written.REFUSED


class Write:
    """The parts of one UpdateItem: SET and REMOVE clauses, names and values.

    Every write stamps `updated_at` (and the creation attributes when it creates the item) and, for
    a history entry, appends it; status is None for a note that changes no status. A status write also
    stamps `status_at` and, once the message no longer waits, `status_shard`, the status-index's key
    (`_update` adds them).
    """

    def __init__(
        self,
        now: datetime,
        status: MessageStatus | None,
        detail: str,
        *,
        data: Mapping[str, Any] | None = None,
        history: bool = True,
    ) -> None:
        self.now = now
        self.status = status
        self.names: dict[str, str] = {"#status": "status"}
        self.values: dict[str, Any] = {":now": iso_time(now)}
        self.sets = [
            "created_at = if_not_exists(created_at, :now)",
            "updated_at = :now",
            "expires_at = if_not_exists(expires_at, :expires)",
        ]
        self.removes: list[str] = []
        self.waits = False  # the write keeps the message in the waiting-index
        if status is not None:
            self.sets.append("#status = :to")
            self.values[":to"] = status.value
        if history:
            self.sets.append("history = list_append(if_not_exists(history, :empty), :entry)")
            self.values[":empty"] = []
            self.values[":entry"] = [history_entry(status, now, detail, data)]

    def set_fields(self, fields: Mapping[str, Any]) -> None:
        """SET each field given a value (None: left as it is); a flag stored only when true is removed
        when false, so that an earlier attempt's true never outlives it."""
        for name, value in sorted(fields.items()):
            if value is False and name in ABSENT_WHEN_FALSE:
                self.remove(name)
            elif value is not None:
                self.sets.append(f"{self._name(name)} = {self._value(name, value)}")

    def keep_fields(self, fields: Mapping[str, Any]) -> None:
        for name, value in sorted(fields.items()):
            if value is not None:
                alias = self._name(name)
                self.sets.append(f"{alias} = if_not_exists({alias}, {self._value(name, value)})")

    def append(self, name: str, values: list[Any]) -> None:
        """Add `values` to the end of a list attribute (made when absent)."""
        alias = self._name(name)
        self.sets.append(
            f"{alias} = list_append(if_not_exists({alias}, :no_{name}), {self._value(name, values)})"
        )
        self.values[f":no_{name}"] = []

    def count(self, *names: str) -> None:
        """Add one to each counter (from zero)."""
        for name in names:
            alias = self._name(name)
            self.sets.append(f"{alias} = if_not_exists({alias}, :count_zero) + :count_one")
            self.values.update({":count_zero": 0, ":count_one": 1})

    def remove(self, *names: str) -> None:
        self.removes += [self._name(name) for name in names]

    def await_check(self, request_id: str, check_at: int, *, keep: bool = False) -> None:
        """Keep the message in the waiting-index until `check_at` (or, with `keep`, the look it has)."""
        self.waits = True
        fields = {"awaiting": awaiting_shard(request_id), "check_at": check_at}
        if keep:
            self.keep_fields(fields)
        else:
            self.set_fields(fields)

    def status_in(self, statuses: Iterable[MessageStatus], prefix: str) -> str:
        """`#status IN (:prefix0, ...)` with its values (sorted, so the expression is stable)."""
        keys = []
        for index, status in enumerate(sorted(statuses)):
            keys.append(f":{prefix}{index}")
            self.values[keys[-1]] = status.value
        return f"#status IN ({', '.join(keys)})"

    def expression(self) -> str:
        update = "SET " + ", ".join(self.sets)
        if self.removes:
            update += " REMOVE " + ", ".join(dict.fromkeys(self.removes))
        return update

    def _name(self, name: str) -> str:
        alias = f"#{name}"
        self.names[alias] = name
        return alias

    def _value(self, name: str, value: Any) -> str:
        alias = f":v_{name}"
        self.values[alias] = value
        return alias


def history_entry(
    status: MessageStatus | None, now: datetime, detail: str, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A transition (status set) or a note (status None: the status did not change)."""
    entry: dict[str, Any] = {"at": iso_time(now), "detail": detail}
    if status is not None:
        entry["status"] = status.value
    if data:
        entry["data"] = dict(data)
    return entry
