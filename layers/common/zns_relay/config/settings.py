"""The one place that reads the environment: each function's configuration from template.yaml."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from zns_relay.models.errors import ConfigurationError
from zns_relay.models.events import PhoneFormat
from zns_relay.models.fallback import FallbackRequest, FallbackTrigger

DEFAULT_ESMS_BASE_URL = "https://rest.esms.vn/MainService.svc/json"
DEFAULT_ESMS_STATUS_URL = "https://status-sms.esms.vn"
# Hosts that are on this machine: plain http to them never crosses a network.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def require_https(url: str, plain_http_hosts: frozenset[str] = frozenset()) -> str:
    """`url` if it is https, or plain http to a loopback host (the local stack, the tests) or to one of
    `plain_http_hosts`: the eSMS keys and the callback signatures never travel unencrypted."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS | plain_http_hosts:
        return url
    raise ValueError("must be an https URL (plain http only to a loopback host)")


def _comma_separated_set(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


class _Settings(BaseModel):
    """What every function reads: the table, and how long things are kept and cached."""

    # Built when a function first reads its own settings (at init): not every function's at import.
    model_config = ConfigDict(frozen=True, defer_build=True)

    table_name: Annotated[str, Field(alias="TABLE_NAME", min_length=1)]
    retention_days: Annotated[int, Field(alias="RETENTION_DAYS", ge=1)] = 90
    secret_max_age_seconds: Annotated[int, Field(alias="SECRET_MAX_AGE_SECONDS", ge=0)] = 300
    # When the reconciler first looks at a message that eSMS accepted and has not reported on.
    reconcile_after_minutes: Annotated[float, Field(alias="RECONCILE_AFTER_MINUTES", gt=0)] = 30.0
    # Never set on AWS: the address the local stack advertises to `sam local` containers (a Docker
    # bridge, not loopback), which may then be reached over plain http too. Comma-separated.
    plain_http_hosts_text: Annotated[str, Field(alias="PLAIN_HTTP_HOSTS")] = ""

    @classmethod
    def _secure_url(cls, url: str, info: ValidationInfo) -> str:
        """For the URL fields' validators: `require_https` with the hosts PLAIN_HTTP_HOSTS adds."""
        hosts = str(info.data.get("plain_http_hosts_text", ""))
        return require_https(url, frozenset(host.strip() for host in hosts.split(",") if host.strip()))

    @property
    def reconcile_after_seconds(self) -> int:
        return max(1, round(self.reconcile_after_minutes * 60))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        known = {field.alias for field in cls.model_fields.values() if field.alias}
        try:
            return cls.model_validate({key: value for key, value in source.items() if key in known})
        except ValidationError as error:
            # Our own validators' reasons name no value; pydantic's others might quote one.
            names = ", ".join(
                f"{issue['loc'][0]} ({issue['msg'].removeprefix('Value error, ')})"
                if issue["type"] == "value_error"
                else str(issue["loc"][0])
                for issue in error.errors()
            )
            raise ConfigurationError(f"invalid or missing environment variables: {names}") from None


class _EsmsSettings(_Settings):
    """What the functions that call eSMS read: where it is, the keys' secret, timeouts, retry timing."""

    esms_secret_id: Annotated[str, Field(alias="ESMS_SECRET_ID", min_length=1)]
    esms_base_url: Annotated[str, Field(alias="ESMS_BASE_URL")] = DEFAULT_ESMS_BASE_URL
    esms_connect_timeout: Annotated[float, Field(alias="ESMS_CONNECT_TIMEOUT_SECONDS", gt=0)] = 3.05
    esms_read_timeout: Annotated[float, Field(alias="ESMS_READ_TIMEOUT_SECONDS", gt=0)] = 10.0
    # Past its retry window, a message no queue delivery will revisit is the reconciler's after this.
    abandon_after_minutes: Annotated[float, Field(alias="ABANDON_AFTER_MINUTES", gt=0)] = 30.0

    @field_validator("esms_base_url")
    @classmethod
    def _esms_base_url_is_https(cls, url: str, info: ValidationInfo) -> str:
        return cls._secure_url(url, info)

    @property
    def abandon_after_seconds(self) -> int:
        return max(1, round(self.abandon_after_minutes * 60))


class _OaSettings(_EsmsSettings):
    """The OAs this deployment sends for (the sender's, and those the guardrails watch)."""

    default_oa_id: Annotated[str, Field(alias="DEFAULT_OA_ID")] = ""
    # The OAs this deployment sends for, comma-separated (empty: any).
    allowed_oa_ids_text: Annotated[str, Field(alias="ALLOWED_OA_IDS")] = ""

    @property
    def allowed_oa_ids(self) -> frozenset[str]:
        return _comma_separated_set(self.allowed_oa_ids_text)


class SenderSettings(_OaSettings):
    callback_secret_id: Annotated[str, Field(alias="CALLBACK_SECRET_ID", min_length=1)]
    fingerprint_secret_id: Annotated[str, Field(alias="FINGERPRINT_SECRET_ID", min_length=1)]
    # The KMS key that seals each SMS fallback's text (zns_relay.sender.sealing).
    fallback_text_key_id: Annotated[str, Field(alias="FALLBACK_TEXT_KEY_ID", min_length=1)]
    throttle_table_name: Annotated[str, Field(alias="THROTTLE_TABLE_NAME", min_length=1)]
    # The most sends a second to eSMS across all senders (the account's TPS limit): the shared rate's
    # ceiling; eSMS's 160 answers lower the rate below it.
    esms_rate_limit: Annotated[float, Field(alias="ESMS_RATE_LIMIT", gt=0)] = 30.0
    # How many sender invocations may run at once (SQS MaximumConcurrency): the records a throttled one
    # may wait behind (the pacing shares the rate among the environments actually sending).
    sender_max_concurrency: Annotated[int, Field(alias="SENDER_MAX_CONCURRENCY", ge=1)] = 5
    # How long a template's registered limits (GetZnsTemplateInfo), checked before each send, are kept.
    template_cache_seconds: Annotated[int, Field(alias="TEMPLATE_CACHE_SECONDS", ge=1)] = 600
    sandbox_default: Annotated[bool, Field(alias="SANDBOX")] = False
    force_sandbox: Annotated[bool, Field(alias="FORCE_SANDBOX")] = False
    # The brandnames an SMS fallback may be sent under, comma-separated (empty: any). Before the
    # defaults below: their validators check the defaults are among them.
    allowed_brandnames_text: Annotated[str, Field(alias="ALLOWED_BRANDNAMES")] = ""
    # SMS fallbacks: the queue the sender reads them from, and the deployment's defaults.
    fallback_queue_arn: Annotated[str, Field(alias="FALLBACK_QUEUE_ARN")] = ""
    default_brandname: Annotated[str, Field(alias="DEFAULT_BRANDNAME")] = ""
    fallback_on: Annotated[tuple[FallbackTrigger, ...], Field(alias="FALLBACK_ON")] = (
        FallbackTrigger.NO_ZALO,
        FallbackTrigger.INACTIVE,
    )
    # A fallback for every message of a TempID that names none: {"<TempID>": {"Content": ...}, ...}
    fallback_defaults: Annotated[dict[str, FallbackRequest], Field(alias="FALLBACK_DEFAULTS")] = Field(
        default_factory=dict
    )

    @field_validator("fallback_on", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return (
            tuple(part.strip() for part in value.split(",") if part.strip())
            if isinstance(value, str)
            else value
        )

    @field_validator("fallback_defaults", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        return json.loads(value or "{}") if isinstance(value, str) else value

    @field_validator("default_brandname")
    @classmethod
    def _default_brandname_is_allowed(cls, value: str, info: ValidationInfo) -> str:
        allowed = _comma_separated_set(str(info.data.get("allowed_brandnames_text", "")))
        if value and allowed and value not in allowed:
            raise ValueError("DefaultBrandname is not one of AllowedBrandnames")
        return value

    @field_validator("fallback_defaults")
    @classmethod
    def _default_fallbacks_are_allowed(
        cls, value: dict[str, FallbackRequest], info: ValidationInfo
    ) -> dict[str, FallbackRequest]:
        allowed = _comma_separated_set(str(info.data.get("allowed_brandnames_text", "")))
        refused = sorted(
            temp_id
            for temp_id, fallback in value.items()
            if allowed and fallback.brandname and fallback.brandname not in allowed
        )
        if refused:
            raise ValueError(
                f"FallbackDefaults of TempID {', '.join(refused)}: a Brandname not in AllowedBrandnames"
            )
        return value

    callback_base_url: Annotated[str, Field(alias="CALLBACK_BASE_URL")] = ""

    @field_validator("callback_base_url")
    @classmethod
    def _callback_base_url_is_https(cls, url: str, info: ValidationInfo) -> str:
        # Empty: messages carry no CallbackUrl. Else each URL carries a signature: https only.
        return url and cls._secure_url(url, info)

    send_concurrency: Annotated[int, Field(alias="SEND_CONCURRENCY", ge=1, le=64)] = 10
    retry_base_seconds: Annotated[int, Field(alias="RETRY_BASE_SECONDS", ge=0)] = 10
    retry_max_seconds: Annotated[int, Field(alias="RETRY_MAX_SECONDS", ge=0, le=43200)] = 900
    # How long transient failures are retried from the first attempt. At most 23 hours: eSMS refuses
    # a repeated RequestId (124) for 24 hours only, and that refusal is what makes a retry safe.
    retry_window_hours: Annotated[float, Field(alias="RETRY_WINDOW_HOURS", gt=0, le=23)] = 12.0
    # A message without ValidUntil is valid this long after it was published (0: no limit).
    default_validity_hours: Annotated[float, Field(alias="DEFAULT_VALIDITY_HOURS", ge=0)] = 0.0

    @property
    def allowed_brandnames(self) -> frozenset[str]:
        return _comma_separated_set(self.allowed_brandnames_text)

    @property
    def min_seconds_to_send(self) -> float:
        """Claim nothing with less of the invocation left: a send can take the connect and read
        timeouts twice (a re-read secret after a 101)."""
        return 2 * (self.esms_connect_timeout + self.esms_read_timeout) + 2

    @property
    def retry_window_seconds(self) -> int:
        return max(1, round(self.retry_window_hours * 3600))

    @property
    def default_validity_seconds(self) -> int:
        return round(self.default_validity_hours * 3600)


class _ReportSettings(_Settings):
    """What the functions that apply delivery reports read besides: where the person's refusals are
    kept (ThrottleTable), and for how long (SuppressionDays)."""

    throttle_table_name: Annotated[str, Field(alias="THROTTLE_TABLE_NAME", min_length=1)]
    suppression_days: Annotated[int, Field(alias="SUPPRESSION_DAYS", ge=1)] = 180


class CallbackSettings(_ReportSettings):
    callback_secret_id: Annotated[str, Field(alias="CALLBACK_SECRET_ID", min_length=1)]


class ReconcilerSettings(_EsmsSettings, _ReportSettings):
    esms_status_url: Annotated[str, Field(alias="ESMS_STATUS_URL")] = DEFAULT_ESMS_STATUS_URL
    # Where a DEFERRED message's resend is queued for the sender, beside the SMS fallbacks.
    fallback_queue_url: Annotated[str, Field(alias="FALLBACK_QUEUE_URL", min_length=1)]

    @field_validator("esms_status_url")
    @classmethod
    def _esms_status_url_is_https(cls, url: str, info: ValidationInfo) -> str:
        return cls._secure_url(url, info)

    # A message accepted this long ago without a final report ends UNKNOWN.
    unknown_after_hours: Annotated[float, Field(alias="UNKNOWN_AFTER_HOURS", gt=0)] = 72.0
    # Past this long after acceptance a message with no final report ends UNKNOWN without asking eSMS:
    # eSMS keeps a message's status for 7 days (zns_relay.reconciler.report_wait).
    unknown_cap_hours: Annotated[float, Field(alias="UNKNOWN_CAP_HOURS", gt=0)] = 168.0
    # How often eSMS is asked again about a message it has no final report for.
    recheck_minutes: Annotated[float, Field(alias="RECHECK_MINUTES", gt=0)] = 60.0
    # eSMS's documented limits: GetCallback 20 calls a second (200 SMSIDs each), QueryZnsStatus 100.
    get_callback_per_second: Annotated[float, Field(alias="GET_CALLBACK_PER_SECOND", gt=0, le=20)] = 20.0
    query_status_per_second: Annotated[float, Field(alias="QUERY_STATUS_PER_SECOND", gt=0, le=100)] = 100.0
    # GetSmsSentData_V2 has no documented limit: ask it gently.
    sent_data_per_second: Annotated[float, Field(alias="SENT_DATA_PER_SECOND", gt=0, le=20)] = 5.0

    @property
    def unknown_after_seconds(self) -> int:
        return max(1, round(self.unknown_after_hours * 3600))

    @property
    def unknown_cap_seconds(self) -> int:
        return max(1, round(self.unknown_cap_hours * 3600))

    @property
    def recheck_seconds(self) -> int:
        return max(1, round(self.recheck_minutes * 60))


class GuardrailsSettings(_OaSettings):
    # ZnsQuotaLowAlarm's threshold (QuotaAlarmPercent): an OA with less of today's quota left is logged.
    quota_alarm_percent: Annotated[float, Field(alias="QUOTA_ALARM_PERCENT", ge=0, le=100)] = 20.0

    @property
    def watched_oa_ids(self) -> tuple[str, ...]:
        """DefaultOaId, then AllowedOaIds (each once); empty when the deployment names no OA."""
        others = sorted(self.allowed_oa_ids - {self.default_oa_id})
        return (self.default_oa_id, *others) if self.default_oa_id else tuple(others)

    @property
    def seconds_per_oa(self) -> float:
        """The longest asking one OA can take: two questions, each within its connect and read timeouts."""
        return 2 * (self.esms_connect_timeout + self.esms_read_timeout)


class PublisherSettings(_Settings):
    event_bus_name: Annotated[str, Field(alias="EVENT_BUS_NAME", min_length=1)]
    # How events show the phone number: masked unless the deployment says full (it is personal data).
    event_phone_format: Annotated[PhoneFormat, Field(alias="EVENT_PHONE_FORMAT")] = PhoneFormat.MASKED


class FallbackSettings(_Settings):
    fallback_queue_url: Annotated[str, Field(alias="FALLBACK_QUEUE_URL", min_length=1)]


class StatusSettings(_Settings):
    """The status API reads the table and its list indexes only."""
