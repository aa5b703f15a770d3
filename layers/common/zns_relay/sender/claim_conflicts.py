"""What a delivery does when another has claimed its RequestId: the decisions are
zns_relay.sender.lost_claims'; this carries them out."""

from __future__ import annotations

from zns_relay.config.observability import count, logger
from zns_relay.models.esms import SendRequest, ZaloSendRequest
from zns_relay.sender import lost_claims
from zns_relay.sender.delivery import Outcome, SendOutcome, SqsDelivery
from zns_relay.sender.fingerprint import MessageFingerprints
from zns_relay.sender.lost_claims import Holder
from zns_relay.sender.recording import Recorder, handed_back
from zns_relay.store.records import ClaimLost


class ClaimConflicts:
    def __init__(self, fingerprints: MessageFingerprints, recorder: Recorder) -> None:
        self._fingerprints = fingerprints
        self._recorder = recorder

    def settle(
        self, lost: ClaimLost, request: SendRequest, delivery: SqsDelivery, now: int, *, resend: bool = False
    ) -> SendOutcome:
        """Back after the holder's lease while another delivery sends it; otherwise not sent again,
        and a different message under the same RequestId noted on the first one's history (never for
        a resend: its job names the message itself, and its request holds no TempData to tell by)."""
        wait = lost_claims.lease_wait(lost, now)
        if wait is not None:
            logger.info("another delivery is sending this RequestId; back after its lease")
            return handed_back(request.request_id, "being sent by another delivery", wait)
        if isinstance(request, ZaloSendRequest) and not resend:  # an SMS fallback's is only ever its own
            holder = self._holder(lost, request)
            if holder is Holder.ANOTHER_MESSAGE:
                detail, data = lost_claims.reuse_note(request, delivery.message_id)
                self._recorder.reused(request.request_id, detail, data, lost.status)
                return SendOutcome(Outcome.SKIPPED, request.request_id, detail)
            if holder is Holder.THIS_MESSAGE_UNDER_A_NEWER_KEY:
                detail = "the fingerprint key was rotated since this sender read it: claiming again"
                return handed_back(request.request_id, detail, 1)
        count("DuplicatesSkipped")
        logger.info("RequestId already sent or finished: not sent again", extra={"status": lost.status})
        return SendOutcome(Outcome.SKIPPED, request.request_id, f"already {lost.status.value}")

    def _holder(self, lost: ClaimLost, request: ZaloSendRequest) -> Holder:
        holder = lost_claims.holder_by_known_keys(lost, self._fingerprints.of(request))
        if holder is None:
            holder = lost_claims.holder_by_reread_keys(lost, self._fingerprints.of_rereading_keys(request))
        return holder
