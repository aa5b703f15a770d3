"""What is looked at before a ZNS message is claimed: whether the person refused messages like it
(a suppression, zns_relay.models.suppression), whether Zalo paused its OA or template for now (a pause,
zns_relay.models.pause), both in one read, and whether its TempData fits its template
(zns_relay.sender.template_limits)."""

from __future__ import annotations

import time
from collections.abc import Callable

from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.pause import holding
from zns_relay.models.suppression import holding_back
from zns_relay.sender.delivery import HeldBack
from zns_relay.sender.template_limits import TemplateLimits
from zns_relay.store.holds import HoldRecords


class PreSendChecks:
    def __init__(
        self,
        templates: TemplateLimits,
        holds: HoldRecords,
        min_seconds_to_send: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._templates = templates
        self._holds = holds
        self._min_seconds_to_send = min_seconds_to_send
        self._clock = clock

    def held_back(self, request: ZaloSendRequest) -> HeldBack | None:
        """The person's refusal that covers this message, else the pause that holds it; None if neither."""
        found = self._holds.for_message(request.oa_id, request.phone, request.temp_id)
        refusal = holding_back(found.suppressions, request.oa_id, request.phone, request.temp_id)
        # A sandbox message reaches no one, and keeps no TempData to be sent again: nothing pauses it.
        now = int(self._clock())
        pause = None if request.sandbox else holding(found.pauses, request.oa_id, request.temp_id, now)
        return HeldBack(refusal, None if refusal else pause) if refusal or pause else None

    def template_problem(self, request: ZaloSendRequest, seconds_left: Callable[[], float]) -> str | None:
        """Why eSMS would refuse its TempData (answer 790), looked up only while there is time for a
        template look-up (a read timeout at worst) and still to send: with too little left, the
        sender hands the record back anyway."""
        if seconds_left() < self._min_seconds_to_send:
            return None
        return self._templates.problem(request)
