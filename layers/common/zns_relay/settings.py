"""The one place that reads the environment: the Lambda functions' configuration from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zns_relay.models.errors import ConfigurationError

DEFAULT_ESMS_BASE_URL = "https://rest.esms.vn/MainService.svc/json"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: Annotated[str, Field(alias="TABLE_NAME", min_length=1)]
    callbacks_table_name: Annotated[str, Field(alias="CALLBACKS_TABLE_NAME", min_length=1)]
    park_window_seconds: Annotated[int, Field(alias="PARK_WINDOW_SECONDS", ge=0)] = 3600
    secret_id: Annotated[str, Field(alias="ESMS_SECRET_ID", min_length=1)]
    esms_base_url: Annotated[str, Field(alias="ESMS_BASE_URL")] = DEFAULT_ESMS_BASE_URL
    default_oa_id: Annotated[str, Field(alias="DEFAULT_OA_ID")] = ""
    sandbox_default: Annotated[bool, Field(alias="SANDBOX")] = False
    callback_base_url: Annotated[str, Field(alias="CALLBACK_BASE_URL")] = ""
    max_receive_count: Annotated[int, Field(alias="MAX_RECEIVE_COUNT", ge=1)] = 5
    retention_days: Annotated[int, Field(alias="RETENTION_DAYS", ge=1)] = 90
    esms_connect_timeout: Annotated[float, Field(alias="ESMS_CONNECT_TIMEOUT_SECONDS", gt=0)] = 3.05
    esms_read_timeout: Annotated[float, Field(alias="ESMS_READ_TIMEOUT_SECONDS", gt=0)] = 10.0
    send_concurrency: Annotated[int, Field(alias="SEND_CONCURRENCY", ge=1, le=64)] = 10
    retry_base_seconds: Annotated[int, Field(alias="RETRY_BASE_SECONDS", ge=0)] = 10
    retry_max_seconds: Annotated[int, Field(alias="RETRY_MAX_SECONDS", ge=0, le=43200)] = 900
    secret_max_age_seconds: Annotated[int, Field(alias="SECRET_MAX_AGE_SECONDS", ge=0)] = 300

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        known = {field.alias for field in cls.model_fields.values() if field.alias}
        try:
            return cls.model_validate({key: value for key, value in source.items() if key in known})
        except ValidationError as error:
            names = ", ".join(str(issue["loc"][0]) for issue in error.errors())
            raise ConfigurationError(f"invalid or missing environment variables: {names}") from None
