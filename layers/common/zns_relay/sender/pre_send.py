"""What is looked at before a ZNS message is claimed: whether the person refused messages like it
(a suppression, zns_relay.models.suppression) and whether its TempData fits its template
(zns_relay.sender.template_limits)."""

from __future__ import annotations

from collections.abc import Callable

from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.suppression import Suppression, holding_back
from zns_relay.sender.template_limits import TemplateLimits
from zns_relay.store.suppressions import Suppressions


class PreSendChecks:
    def __init__(
        self, templates: TemplateLimits, suppressions: Suppressions, min_seconds_to_send: float
    ) -> None:
        self._templates = templates
        self._suppressions = suppressions
        self._min_seconds_to_send = min_seconds_to_send

    def refusal(self, request: ZaloSendRequest) -> Suppression | None:
        """The person's refusal that covers this message, if any: it is then not sent."""
        found = self._suppressions.applying_to(request.oa_id, request.phone, request.temp_id)
        return holding_back(found, request.oa_id, request.phone, request.temp_id)

    def template_problem(self, request: ZaloSendRequest, seconds_left: Callable[[], float]) -> str | None:
        """Why eSMS would refuse its TempData (answer 790), looked up only while there is time for a
        template look-up (a read timeout at worst) and still to send: with too little left, the
        sender hands the record back anyway."""
        if seconds_left() < self._min_seconds_to_send:
            return None
        return self._templates.problem(request)
