"""The SMS fallback on moto, through the real functions: the sender plans it, the table's stream triggers
it when the ZNS message ends, FallbackFunction queues it, the sender sends it once, callbacks finish it."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event, load_function, secret_values, sender_overrides
from tests.support.esms_stub import EsmsStub, Reply, accepted
from tests.support.outcomes import TableStream
from zns_relay.models.fallback_job import MAX_SEALED_CHARS
from zns_relay.models.state import Channel, MessageStatus
from zns_relay.reports.callback_url import sign
from zns_relay.sender.sealing import FallbackTexts
from zns_relay.store.messages import MessageStore

ORIGINAL = "otp-42"
SMS = "otp-42:sms"
SMS_FIELDS = {
    "ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType", "IsUnicode", "Sandbox",
    "campaignid", "RequestId", "CallbackUrl",
}  # fmt: skip
BODY: dict[str, Any] = {
    "Phone": "0901888118",
    "TempID": "2056446",
    "TempData": {"otp": "482910", "customer_name": "An"},
    "RequestId": ORIGINAL,
    "campaignid": "login",
    "Fallback": {"Content": "Ma OTP cua {customer_name} la {otp}", "Brandname": "Baotrixemay"},
}


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))


@pytest.fixture
def fallback(deployment: Resolver, monkeypatch: pytest.MonkeyPatch) -> LoadedFunction:
    return load_function("FallbackFunction", deployment, monkeypatch, {})


@pytest.fixture
def stream(aws: boto3.Session, deployment: Resolver) -> TableStream:
    return TableStream(aws, deployment)


@pytest.fixture
def texts(aws: boto3.Session, deployment: Resolver) -> FallbackTexts:
    """Seals and opens SMS texts under the deployment's FallbackTextKey, as the sender does."""
    return FallbackTexts(aws.client("kms"), deployment.get_att("FallbackTextKey", "Arn"))


def queue_event(deployment: Resolver, queue: str, bodies: list[str]) -> dict[str, Any]:
    """An SQS event of `bodies` from the template's queue `queue`."""
    record = load_event("sender-batch.json")["Records"][0]
    return {
        "Records": [
            {
                **record,
                "messageId": f"m-{index}",
                "body": body,
                "eventSourceARN": deployment.get_att(queue, "Arn"),
            }
            for index, body in enumerate(bodies)
        ]
    }


def fallback_jobs(aws: boto3.Session, deployment: Resolver) -> list[str]:
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=deployment.ref("FallbackQueue"), MaxNumberOfMessages=10).get(
        "Messages", []
    )
    return [message["Body"] for message in messages]


def job_for(texts: FallbackTexts, **changes: Any) -> dict[str, Any]:
    """A FallbackQueue job as FallbackFunction queues it for ORIGINAL, its text sealed for ORIGINAL."""
    job = {
        "request_id": SMS, "fallback_for": ORIGINAL, "phone": "0901888118",
        "sealed_content": texts.seal("Ma OTP 1", ORIGINAL), "brandname": "Baotrixemay", "is_unicode": False,
    }  # fmt: skip
    return {**job, **changes}


def send_original(sender: LoadedFunction, deployment: Resolver, **changes: Any) -> None:
    sender.invoke(queue_event(deployment, "SendQueue", [json.dumps({**BODY, **changes})]))


def report_failed(store: MessageStore, zalo_code: str) -> None:
    """eSMS's report: Zalo refused the delivery with `zalo_code` (as a callback applies it)."""
    assert store.transition(
        ORIGINAL,
        MessageStatus.FAILED,
        f"Zalo {zalo_code}",
        {"error": f"Zalo {zalo_code}"},
        data={"error_code": zalo_code, "source": "callback"},
    )


def test_a_message_with_no_zalo_account_gets_its_sms_once_filled_in_and_linked(
    sender: LoadedFunction,
    fallback: LoadedFunction,
    stream: TableStream,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a ZNS message with a fallback, sent, then reported undeliverable: no Zalo account (-118)
    send_original(sender, deployment)
    report_failed(store, "-118")

    # When the stream hands the change to FallbackFunction (twice: a stream delivers at least once)
    event = stream.new_event()
    assert fallback.invoke(event) == {"batchItemFailures": []}
    assert fallback.invoke(event) == {"batchItemFailures": []}

    # Then two jobs are queued, and the sender, given both, sends one SMS with the content filled in
    jobs = fallback_jobs(aws, deployment)
    assert len(jobs) == 2
    esms.responder = lambda body: accepted("sms-smsid-1")
    sender.invoke(queue_event(deployment, "FallbackQueue", jobs))
    sms_posts = [
        body for body, path in zip(esms.bodies, esms.paths, strict=True) if "SendMultipleMessage" in path
    ]
    assert len(sms_posts) == 1
    [sms] = sms_posts
    assert set(sms) == SMS_FIELDS and all(isinstance(value, str) for value in sms.values())
    assert (sms["Content"], sms["Brandname"], sms["SmsType"], sms["RequestId"]) == (
        "Ma OTP cua An la 482910", "Baotrixemay", "2", SMS,
    )  # fmt: skip
    key = secret_values(aws, deployment, "CallbackKeySecret")["CallbackKey"].encode()
    nonce = aws.client("dynamodb").get_item(
        TableName=deployment.ref("MessagesTable"), Key={"request_id": {"S": SMS}}
    )["Item"]["callback_nonce"]["S"]
    assert sms["CallbackUrl"].endswith(f"/{SMS}/{sign(key, SMS, nonce)}")
    # And the SMS is a message of its own, linked both ways; the original no longer holds the text
    sms_item = store.get(SMS)
    original = store.get(ORIGINAL)
    assert sms_item is not None and original is not None
    assert (sms_item.status, sms_item.channel.value, sms_item.fallback_for) == (
        MessageStatus.ACCEPTED,
        "sms",
        ORIGINAL,
    )
    assert original.fallback_request_id == SMS and original.fallback is None
    assert original.history[-1].detail == f"no_zalo: SMS fallback {SMS} queued"


@pytest.mark.parametrize(
    ("ending", "on", "queued"),
    [
        ("-114", None, True),  # inactive user: in the deployment's default triggers
        ("-124", None, False),  # another failure: not asked for
        ("-124", ["failed"], True),  # "failed" covers any failure
        ("DELIVERED", ["failed", "unknown"], False),
        ("UNKNOWN", ["unknown"], True),
        ("UNKNOWN", None, False),
    ],
)
def test_only_the_outcomes_asked_for_send_the_fallback(
    sender: LoadedFunction,
    fallback: LoadedFunction,
    stream: TableStream,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    ending: str,
    on: list[str] | None,
    queued: bool,
) -> None:
    send_original(sender, deployment, Fallback={**BODY["Fallback"], **({"On": on} if on else {})})
    if ending == "DELIVERED":
        store.transition(ORIGINAL, MessageStatus.DELIVERED, "delivered")
    elif ending == "UNKNOWN":
        store.transition(ORIGINAL, MessageStatus.UNKNOWN, "no report")
    else:
        report_failed(store, ending)

    fallback.invoke(stream.new_event())

    assert len(fallback_jobs(aws, deployment)) == (1 if queued else 0)


def test_no_sms_once_the_messages_validity_has_passed(
    sender: LoadedFunction,
    fallback: LoadedFunction,
    stream: TableStream,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message valid a minute more, whose failure report comes after that minute
    send_original(sender, deployment, ValidUntil="2030-01-01T00:00:00Z")
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    table.update_item(
        Key={"request_id": ORIGINAL},
        UpdateExpression="SET valid_until = :past",
        ExpressionAttributeValues={":past": 1},
    )
    report_failed(store, "-118")

    fallback.invoke(stream.new_event())

    assert fallback_jobs(aws, deployment) == []
    original = store.get(ORIGINAL)
    assert original is not None and original.fallback_request_id is None
    assert (
        original.history[-1].detail == "no_zalo: SMS fallback not sent, its validity (ValidUntil) had passed"
    )


def test_a_fallback_naming_what_tempdata_lacks_is_rejected_and_a_deployment_default_applies(
    deployment: Resolver,
    esms: EsmsStub,
    store: MessageStore,
    texts: FallbackTexts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a deployment with a default fallback for template 2056446
    defaults = {"2056446": {"Content": "Ma OTP: {otp}", "Brandname": "Baotrixemay", "On": ["no_zalo"]}}
    overrides = {**sender_overrides(esms), "FALLBACK_DEFAULTS": json.dumps(defaults)}
    sender = load_function("SenderFunction", deployment, monkeypatch, overrides)

    # When one message names a parameter its TempData lacks, and two name no fallback at all
    plain = {key: value for key, value in BODY.items() if key != "Fallback"}
    bodies = [
        {**BODY, "RequestId": "bad", "Fallback": {"Content": "Hi {nobody}"}},
        {**plain, "RequestId": "default"},
        {**plain, "RequestId": "no-otp", "TempData": {"x": "1"}},
    ]
    sender.invoke(queue_event(deployment, "SendQueue", [json.dumps(body) for body in bodies]))

    # Then the first is REJECTED with the reason, the second plans the deployment's default, and the
    # third, whose TempData cannot fill the default, is REJECTED too
    bad, default, no_otp = (store.get(request_id) for request_id in ("bad", "default", "no-otp"))
    assert bad is not None and bad.status is MessageStatus.REJECTED
    assert bad.error == "Fallback.Content names nobody, which TempData lacks"
    assert default is not None and default.fallback is not None
    assert texts.open(default.fallback.sealed_content, "default") == "Ma OTP: 482910"
    assert default.fallback.on == ["no_zalo"]
    assert no_otp is not None and no_otp.status is MessageStatus.REJECTED


def test_a_fallback_esms_would_refuse_is_rejected_before_anything_is_sent(
    sender: LoadedFunction, deployment: Resolver, esms: EsmsStub, store: MessageStore
) -> None:
    # Given a deployment without DefaultBrandname (the tests' default), a Fallback naming no Brandname,
    # and one whose Content, filled from TempData, runs past an SMS's 612 characters
    no_brand = {"Content": "Ma OTP la {otp}"}
    too_long = {"Content": "{customer_name} {customer_name}", "Brandname": "Baotrixemay"}
    long_name = {"otp": "482910", "customer_name": "A" * 400}

    sender.invoke(
        queue_event(
            deployment,
            "SendQueue",
            [
                json.dumps({**BODY, "RequestId": "no-brand", "Fallback": no_brand}),
                json.dumps({**BODY, "RequestId": "too-long", "TempData": long_name, "Fallback": too_long}),
            ],
        )
    )

    # Then both are REJECTED with the reason (eSMS would refuse the SMS only once Zalo had failed)
    no_brand_record, too_long_record = store.get("no-brand"), store.get("too-long")
    assert no_brand_record is not None and no_brand_record.status is MessageStatus.REJECTED
    assert no_brand_record.error == "Fallback names no Brandname, and this deployment has no DefaultBrandname"
    assert too_long_record is not None and too_long_record.status is MessageStatus.REJECTED
    assert too_long_record.error is not None and "over 612" in too_long_record.error
    assert esms.sends_for("no-brand") == esms.sends_for("too-long") == 0


def test_a_fallback_under_a_brandname_the_deployment_does_not_allow_is_rejected_unsent(
    deployment: Resolver, esms: EsmsStub, store: MessageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment whose fallbacks may go out under two brandnames only, the default among them
    overrides = {
        **sender_overrides(esms),
        "ALLOWED_BRANDNAMES": "Baotrixemay, Shop Bao",
        "DEFAULT_BRANDNAME": "Shop Bao",
    }
    sender = load_function("SenderFunction", deployment, monkeypatch, overrides)

    # When messages name an allowed brandname, none (the default), another one, and another in sandbox
    bodies = [
        {**BODY, "RequestId": "allowed"},
        {**BODY, "RequestId": "default", "Fallback": {"Content": "Ma OTP la {otp}"}},
        {**BODY, "RequestId": "other", "Fallback": {**BODY["Fallback"], "Brandname": "BankX"}},
        {
            **BODY,
            "RequestId": "other-sandbox",
            "Sandbox": "1",
            "Fallback": {**BODY["Fallback"], "Brandname": "BankX"},
        },
    ]
    sender.invoke(queue_event(deployment, "SendQueue", [json.dumps(body) for body in bodies]))

    # Then the first two are sent with their planned SMS, the others REJECTED unsent, saying why
    allowed, default = store.get("allowed"), store.get("default")
    assert (
        allowed is not None and allowed.fallback is not None and allowed.fallback.brandname == "Baotrixemay"
    )
    assert default is not None and default.fallback is not None and default.fallback.brandname == "Shop Bao"
    for request_id in ("other", "other-sandbox"):
        other = store.get(request_id)
        assert other is not None and other.status is MessageStatus.REJECTED
        assert other.error == "Fallback.Brandname: BankX is not one this deployment sends under"
        assert esms.sends_for(request_id) == 0


def test_the_sms_reports_finish_the_sms_and_never_touch_the_original(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    texts: FallbackTexts,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given an SMS fallback eSMS accepted
    job = job_for(texts)
    esms.responder = lambda body: accepted("dc712784-9c5f-4c69-b9a8-ea69d56adc9a87")
    sender.invoke(queue_event(deployment, "FallbackQueue", [json.dumps(job)]))

    # When eSMS calls back on the signed URL it was given, in the documented SMS format (TypeId 2,
    # switchsmsid)
    [url] = [body["CallbackUrl"] for body in esms.bodies]
    signature = url.split("/")[-1]
    event = load_event("callback-delivered.json")
    path = f"/callbacks/esms/{SMS}/{signature}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"request_id": SMS, "signature": signature}
    event["rawQueryString"] = (
        "SMSID=dc712784-9c5f-4c69-b9a8-ea69d56adc9a87&SendFailed=0&SendStatus=5&SendSuccess=1&TotalPrice=850.0000"
        "&TotalReceiver=1&TotalSent=1&RequestId=&TypeId=2&telcoid=1&phonenumber=0901888118&switchsmsid="
    )

    assert callback.invoke(event)["statusCode"] == 200

    sms = store.get(SMS)
    assert sms is not None and sms.status is MessageStatus.DELIVERED
    assert store.get(ORIGINAL) is None


def test_a_sandbox_message_plans_no_fallback(
    sender: LoadedFunction, store: MessageStore, deployment: Resolver, esms: EsmsStub
) -> None:
    esms.responder = lambda body: Reply(body=accepted("s").body)
    send_original(sender, deployment, Sandbox="1")
    original = store.get(ORIGINAL)
    assert original is not None and original.fallback is None


def test_no_tempdata_value_and_no_sms_text_is_stored_in_plain_text(
    sender: LoadedFunction,
    fallback: LoadedFunction,
    stream: TableStream,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message with an OTP in TempData and a Fallback whose text uses it, sent, then
    # undeliverable on Zalo, its SMS queued by FallbackFunction and sent by the sender
    otp, name = "482910", "Nguyễn Văn An"
    send_original(sender, deployment, TempData={"otp": otp, "customer_name": name})
    report_failed(store, "-118")
    assert fallback.invoke(stream.new_event()) == {"batchItemFailures": []}
    jobs = fallback_jobs(aws, deployment)
    esms.responder = lambda body: accepted("sms-smsid-1")
    sender.invoke(queue_event(deployment, "FallbackQueue", jobs))
    [sms] = [
        body for body, path in zip(esms.bodies, esms.paths, strict=True) if "SendMultipleMessage" in path
    ]
    assert sms["Content"] == f"Ma OTP cua {name} la {otp}"

    # When every item, every record of the table's stream and every FallbackQueue body is read
    items = aws.client("dynamodb").scan(TableName=deployment.ref("MessagesTable"))["Items"]
    records = TableStream(aws, deployment).new_records()
    stored = json.dumps({"items": items, "stream": records, "queued": jobs}, ensure_ascii=False)

    # Then none holds a TempData value or the SMS text (the sealed text is there, as ciphertext)
    assert len(items) == 2 and len(jobs) == 1 and records
    assert name not in stored
    assert not re.search(rf"\b{otp}\b", stored)  # not as a word: a ciphertext may hold the digits
    assert '"sealed_content"' in stored


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"content": "Ma OTP 1"}, "content: Extra inputs are not permitted"),
        ({"phone": "0123"}, "phone: "),
        ({"brandname": "Baotrixemay1"}, "brandname: "),
        ({"brandname": "Bao\u001b]0;x"}, "brandname: "),
        ({"campaign_id": "c" * 255}, "campaign_id: "),
        ({"is_unicode": "0"}, "is_unicode: "),
        ({"valid_until": "2030-01-01"}, "valid_until: "),
        ({"sealed_content": "A" * (MAX_SEALED_CHARS + 4)}, "sealed_content: "),
        ({"request_id": "otp-43:sms"}, "request_id is not the SMS RequestId of fallback_for"),
        ({"request_id": "otp-42:sms\n"}, "request_id: "),  # "$" must not pass a trailing line break
    ],
)
def test_a_fallback_job_that_breaks_its_rules_is_rejected_unsent_and_says_why(
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    texts: FallbackTexts,
    deployment: Resolver,
    change: dict[str, Any],
    reason: str,
) -> None:
    sender.invoke(queue_event(deployment, "FallbackQueue", [json.dumps(job_for(texts, **change))]))

    assert esms.bodies == []
    sms = store.get(SMS)
    assert sms is not None and (sms.status, sms.channel) == (MessageStatus.REJECTED, Channel.SMS)
    assert sms.error is not None and sms.error.startswith("SMS fallback job: ") and reason in sms.error
    assert "Ma OTP" not in sms.error


def test_a_fallback_jobs_phone_is_normalised(
    sender: LoadedFunction, esms: EsmsStub, store: MessageStore, texts: FallbackTexts, deployment: Resolver
) -> None:
    esms.responder = lambda body: accepted("sms-smsid-1")
    sender.invoke(
        queue_event(deployment, "FallbackQueue", [json.dumps(job_for(texts, phone="+84 90 188 8118"))])
    )

    assert [body["Phone"] for body in esms.bodies] == ["0901888118"]
    sms = store.get(SMS)
    assert sms is not None and sms.phone == "0901888118"


def test_a_text_sealed_for_another_message_never_opens_and_its_sms_fails_unsent(
    sender: LoadedFunction, esms: EsmsStub, store: MessageStore, texts: FallbackTexts, deployment: Resolver
) -> None:
    # Given a job for ORIGINAL whose text was sealed for another message (copied from its job)
    job = job_for(texts, sealed_content=texts.seal("Ma OTP cua ai do la 111111", "otp-99"))

    sender.invoke(queue_event(deployment, "FallbackQueue", [json.dumps(job)]))

    # Then KMS refuses to open it under ORIGINAL's context: nothing is sent, and the SMS FAILED says why
    assert esms.bodies == []
    sms = store.get(SMS)
    assert sms is not None and sms.status is MessageStatus.FAILED
    assert sms.error is not None and "InvalidCiphertextException" in sms.error


def test_a_message_whose_fallback_cannot_be_sealed_waits_unsent_and_counts_as_an_account_error(
    deployment: Resolver,
    esms: EsmsStub,
    store: MessageStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a sender whose FallbackTextKey KMS cannot find (a key deleted, a wrong ARN)
    missing = "arn:aws:kms:ap-southeast-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    overrides = {**sender_overrides(esms), "FALLBACK_TEXT_KEY_ID": missing}
    sender = load_function("SenderFunction", deployment, monkeypatch, overrides)

    # When a message with a Fallback arrives
    response = sender.invoke(queue_event(deployment, "SendQueue", [json.dumps(BODY)]))

    # Then it goes back to the queue, nothing claimed, nothing sent, and an operator hears of it
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert esms.bodies == [] and store.get(ORIGINAL) is None
    assert '"AccountErrors":[1.0]' in capsys.readouterr().out.replace(" ", "")


def test_a_stream_image_that_does_not_read_is_handed_back_and_logged_without_its_values(
    sender: LoadedFunction,
    fallback: LoadedFunction,
    stream: TableStream,
    store: MessageStore,
    deployment: Resolver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the write that ended a message, its new image holding a value no status has
    send_original(sender, deployment)
    report_failed(store, "-118")
    event = stream.new_event()
    image = event["Records"][-1]["dynamodb"]["NewImage"]
    image["status"] = {"S": "NOT-A-STATUS-0901888484"}

    # When FallbackFunction is handed it
    answer = fallback.invoke(event)

    # Then the stream keeps the record for a retry, and the log names the field, not the value
    assert answer["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][-1]["dynamodb"]["SequenceNumber"]}
    ]
    [record] = [record for record in caplog.records if record.getMessage().startswith("fallback not handled")]
    assert record.__dict__["reason"].startswith("status: ")
    assert "0901888484" not in str(record.__dict__)
