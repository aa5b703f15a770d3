"""Registered ZNS templates: each parameter's spec, as GetZnsTemplateInfo reports it and sends are checked.

eSMS documents a template's parameters twice: GetZnsTemplateInfo's `ListParams` (`Name`, `Type`,
`MinLength`, `MaxLength`, `Require`, `AcceptNull`) and GetTemplate's `ZNSTempDetail` (`Param`, `Limit`,
`RequireType`: type_text, type_number "digits only, at most 12", type_date "dd/MM/yyyy"). One spec here
serves both answers and the 790 check of a send's TempData.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

PARAM_TYPES = ("STRING", "NUMBER", "DATE")
REQUIRE_TYPES = {"STRING": "type_text", "NUMBER": "type_number", "DATE": "type_date"}
TEMPLATE_STATUSES = ("ENABLE", "PENDING_REVIEW", "DELETE", "REJECT", "DISABLE")
TEMPLATE_TAGS = ("TRANSACTION", "CUSTOMER_CARE", "PROMOTION")
MAX_NUMBER_DIGITS = 12
_DIGITS = re.compile(r"\d+", re.ASCII)
_DATE = re.compile(r"\d{2}/\d{2}/\d{4}", re.ASCII)  # dd/MM/yyyy: strptime alone reads " 1/02/2026"


@dataclass(frozen=True)
class TemplateParam:
    """One template parameter; `require`: must be present, `accept_null`: may be an empty string."""

    name: str
    type: str = "STRING"
    min_length: int = 0
    max_length: int = 30
    require: bool = True
    accept_null: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a template parameter needs a name")
        if self.type not in PARAM_TYPES:
            raise ValueError(f"{self.name}: type must be one of {', '.join(PARAM_TYPES)}")
        for bound in (self.min_length, self.max_length):
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
                raise ValueError(f"{self.name}: lengths must be non-negative integers")
        if self.min_length > self.max_length:
            raise ValueError(f"{self.name}: min_length exceeds max_length")
        if not isinstance(self.require, bool) or not isinstance(self.accept_null, bool):
            raise ValueError(f"{self.name}: require and accept_null must be booleans")

    def problem(self, value: str) -> str | None:
        """Why eSMS would refuse this value (790), or None."""
        if value == "":
            return None if self.accept_null else f"{self.name}: must not be empty"
        if not self.min_length <= len(value) <= self.max_length:
            return f"{self.name}: length {len(value)} outside {self.min_length}..{self.max_length}"
        if self.type == "NUMBER" and not (_DIGITS.fullmatch(value) and len(value) <= MAX_NUMBER_DIGITS):
            return f"{self.name}: a NUMBER is at most {MAX_NUMBER_DIGITS} digits"
        if self.type == "DATE" and not _is_date(value):
            return f"{self.name}: a DATE is dd/MM/yyyy"
        return None


@dataclass(frozen=True)
class ZnsTemplate:
    """A template registered for the account's OA. `tag` is reported only; `status` decides Zalo's
    refusal of its sends (zalo_rules.py) and, for DELETE, eSMS's 789."""

    name: str
    params: tuple[TemplateParam, ...]
    tag: str = "TRANSACTION"
    status: str = "ENABLE"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a template needs a name")
        if not isinstance(self.params, tuple) or not all(isinstance(p, TemplateParam) for p in self.params):
            raise ValueError(f"{self.name}: params must be a tuple of TemplateParam")
        names = [param.name for param in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: parameter names must be unique")
        if self.tag not in TEMPLATE_TAGS:
            raise ValueError(f"{self.name}: tag must be one of {', '.join(TEMPLATE_TAGS)}")
        if self.status not in TEMPLATE_STATUSES:
            raise ValueError(f"{self.name}: status must be one of {', '.join(TEMPLATE_STATUSES)}")

    def problem(self, pairs: Iterable[tuple[str, str]]) -> str | None:
        """Why eSMS would answer 790 to this TempData, or None: unknown, repeated, missing or bad values."""
        specs = {param.name: param for param in self.params}
        seen: set[str] = set()
        for key, value in pairs:
            if key in seen:
                return f"{key}: given twice"
            seen.add(key)
            spec = specs.get(key)
            if spec is None:
                return f"{key}: not a parameter of template {self.name!r}"
            problem = spec.problem(value)
            if problem is not None:
                return problem
        missing = [param.name for param in self.params if param.require and param.name not in seen]
        return f"missing required parameters: {', '.join(missing)}" if missing else None

    @property
    def content(self) -> str:
        """The template text GetTemplate reports: its placeholders, as eSMS writes them."""
        return " ".join(_placeholder(param.name) for param in self.params)

    def rendered(self, pairs: Iterable[tuple[str, str]]) -> str:
        """The text a send's TempData makes of the template: placeholders filled, absent ones dropped."""
        text = self.content
        values = dict(pairs)
        for param in self.params:
            text = text.replace(_placeholder(param.name), values.get(param.name, ""))
        return " ".join(text.split())


def _placeholder(name: str) -> str:
    return f"{{{{{name}}}}}"


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%d/%m/%Y")
    except ValueError:
        return False
    return True


def template_from_json(temp_id: str, value: object) -> ZnsTemplate:
    """A ZnsTemplate from itself or from the JSON object `GET /_sim/config` shows for it."""
    if isinstance(value, ZnsTemplate):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"templates[{temp_id}] must be an object")
    _reject_unknown_keys(f"templates[{temp_id}]", value, ZnsTemplate)
    params = value.get("params")
    if not isinstance(params, list | tuple):
        raise ValueError(f"templates[{temp_id}].params must be a list")
    others = {key: item for key, item in value.items() if key != "params"}
    try:
        return ZnsTemplate(**others, params=tuple(_param_from_json(temp_id, param) for param in params))
    except TypeError as error:
        raise ValueError(f"templates[{temp_id}]: {error}") from None


def _param_from_json(temp_id: str, value: object) -> TemplateParam:
    if isinstance(value, TemplateParam):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"templates[{temp_id}].params: each must be an object")
    _reject_unknown_keys(f"templates[{temp_id}].params", value, TemplateParam)
    try:
        return TemplateParam(**value)
    except TypeError as error:
        raise ValueError(f"templates[{temp_id}].params: {error}") from None


def _reject_unknown_keys(where: str, value: Mapping[str, Any], kind: type) -> None:
    unknown = sorted(set(value) - {item.name for item in fields(kind)})
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(map(str, unknown))}")


def _optional(name: str, max_length: int, type_: str = "STRING") -> TemplateParam:
    return TemplateParam(name, type_, max_length=max_length, require=False)


# 2056446 is the template of eSMS's published callback samples; here it takes any of the parameters the
# project's examples use, none required. 205644 and 267247 are the templates eSMS's GetTemplate and
# GetZnsTemplateInfo samples describe, with their documented parameters.
DEFAULT_TEMPLATES: Mapping[str, ZnsTemplate] = {
    "2056446": ZnsTemplate(
        "Thông báo đơn hàng",
        (
            _optional("customer_name", 100),
            _optional("product_name", 100),
            _optional("order_code", 30),
            _optional("amount", MAX_NUMBER_DIGITS, "NUMBER"),
            _optional("date", 10, "DATE"),
            _optional("otp", 10),
        ),
    ),
    "205644": ZnsTemplate("Xác nhận đăng ký dịch vụ", (TemplateParam("otp", max_length=10),)),
    "267247": ZnsTemplate(
        "Đánh giá dịch vụ - text",
        (
            TemplateParam("customer_name", max_length=100),
            TemplateParam("product_name", max_length=100),
            TemplateParam("order_code", max_length=30),
            TemplateParam("date", max_length=30),
        ),
    ),
}
