"""Every eSMS call the functions and the CLI make, from a traced Lambda handler, as in a Lambda
environment: `python -m tests.support.traced_esms_calls <eSMS base URL>`.

Run by tests/integration/test_no_secret_in_traces.py with tracing on (LAMBDA_TASK_ROOT, a sampled
_X_AMZN_TRACE_ID, AWS_XRAY_DAEMON_ADDRESS at its listener) and Lambda's root handler at
AWS_LAMBDA_LOG_LEVEL. The keys are never registered with the scrubbing (as reading the secret would):
what this proves of them holds at the cause, scrubbing aside (the signature, as every CallbackUrl's, is
scrubbed by its shape). A second handler fails with an error that quotes the phone and the OTP, as a
bug's error might.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from local.runtime.lambda_runtime import context_for, setup_root_logging
from local.runtime.template import Template

API_KEY = "traced-api-key-9f3b2c"
SECRET_KEY = "traced-secret-key+/=7d1e"  # characters a URL encodes
SIGNATURE = "NONCEnonce_-0123456789SIGNATUREsignature_-01"  # nonce and MAC, as sign() makes
PHONE = "84901888484"
OTP = "otp-7d41c9e2"  # distinctive: a short number turns up by chance in ids and timestamps
CALLBACK_URL = f"https://relay.example/callbacks/esms/otp-1/{SIGNATURE}"


def main(base_url: str) -> None:
    setup_root_logging()
    logging.getLogger("probe").debug("root logger at DEBUG")
    # Imported as a function imports them: after Lambda's runtime set up the root logger.
    from zns_relay.config.observability import traced_handler  # noqa: PLC0415
    from zns_relay.esms.account import OaAccountClient  # noqa: PLC0415
    from zns_relay.esms.client import EsmsClient  # noqa: PLC0415
    from zns_relay.esms.http import EsmsQueryFailed  # noqa: PLC0415
    from zns_relay.esms.status import EsmsStatusClient  # noqa: PLC0415
    from zns_relay.models.contract import TemplateParam  # noqa: PLC0415
    from zns_relay.models.esms import EsmsCredentials, SmsSendRequest, ZaloSendRequest  # noqa: PLC0415
    from zns_relay_client.esms_account import EsmsAccountClient  # noqa: PLC0415

    credentials = EsmsCredentials(api_key=SecretStr(API_KEY), secret_key=SecretStr(SECRET_KEY))
    sender = EsmsClient(base_url, connect_timeout=1, read_timeout=1)
    status = EsmsStatusClient(base_url, base_url, connect_timeout=1, read_timeout=1)
    account = EsmsAccountClient(base_url, timeout_seconds=1)
    oa_account = OaAccountClient(base_url, timeout=1)
    zns = ZaloSendRequest(
        phone=PHONE,
        oa_id="1397492183140006179",
        temp_id="2056446",
        temp_data=(TemplateParam(key="otp", value=OTP),),
        request_id="otp-1",
        sandbox=False,
        callback_url=CALLBACK_URL,
    )
    sms = SmsSendRequest(
        phone=PHONE,
        content=f"OTP {OTP}",
        brandname="Baotrixemay",
        is_unicode=False,
        request_id="otp-1-sms",
        sandbox=False,
        fallback_for="otp-1",
        callback_url=CALLBACK_URL,
    )
    calls: list[Callable[[], object]] = [
        lambda: sender.send(zns, credentials),
        lambda: sender.send(sms, credentials),
        lambda: status.get_callbacks(["sms-1"], zns.oa_id, credentials),
        lambda: status.query_zns_status("sms-1", "24", credentials),
        lambda: status.send_status("sms-1", credentials),
        lambda: status.sent_messages("2", "2024-01-01 00:00:00", "2024-01-02 00:00:00", credentials, page=1),
        lambda: account.balance(credentials),
        lambda: account.quota(credentials, zns.oa_id),
        lambda: oa_account.quality(credentials, zns.oa_id),
        lambda: account.templates(credentials, zns.oa_id),
        lambda: account.template(credentials, zns.oa_id, zns.temp_id),
    ]

    @traced_handler
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        for call in calls:
            try:
                call()
            except EsmsQueryFailed as error:
                logging.getLogger("probe").warning("eSMS call failed: %s", error)
        return {"calls": len(calls)}

    @traced_handler
    def failing_handler(event: dict[str, Any], context: object) -> None:
        raise ValueError(f"a fault about {PHONE}, whose OTP is {OTP}")

    context = context_for(Template().function("ReconcilerFunction"))
    handler({}, context)
    try:
        failing_handler({}, context)
    except ValueError:
        logging.getLogger("probe").info("the failing handler failed")


if __name__ == "__main__":
    main(sys.argv[1])
