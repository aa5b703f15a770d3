"""A ZNS template as eSMS describes it, and TempData against it as eSMS checks it (answering 790 when it
does not fit): names, required parameters, empty values, lengths, types, and the template's status.

The problems name parameters and lengths, never a value: TempData may hold an OTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from zns_relay.models.contract import TemplateParam

ENABLED = "ENABLE"  # the only Status under which a template sends (GetZnsTemplateInfo's Status table)
DATE_FORMAT = "%d/%m/%Y"
_NUMBER = re.compile(r"[0-9]{1,12}")  # eSMS's type_number: digits only, at most 12
_DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")  # type_date: dd/MM/yyyy, two digits for day and month


@dataclass(frozen=True)
class TemplateParameter:
    """One parameter of a ZNS template; None where the endpoint that described it does not say (GetTemplate
    names no `Require`, `AcceptNull` or `MinLength`): what is not known is not enforced."""

    name: str
    type: str  # STRING, NUMBER, DATE (or what eSMS says)
    max_length: int | None
    min_length: int | None = None
    required: bool | None = None
    accept_null: bool | None = None


@dataclass(frozen=True)
class Template:
    temp_id: str
    name: str
    parameters: tuple[TemplateParameter, ...]
    status: str | None = None  # GetZnsTemplateInfo's Status (ENABLE, ...); GetTemplate says none
    tag: str | None = None

    @property
    def enabled(self) -> bool:
        """False only when eSMS said it is in another status (PENDING_REVIEW, DISABLE, REJECT, DELETE)."""
        return self.status in (None, ENABLED)


def template_problems(template: Template, params: Sequence[TemplateParam]) -> list[str]:
    """Why eSMS would refuse this TempData for this template; empty when it fits."""
    problems = []
    if not template.enabled:
        problems.append(f"template {template.temp_id} is {template.status}, not {ENABLED}")
    spec = {parameter.name: parameter for parameter in template.parameters}
    given = {param.key: param.value for param in params}
    problems += [
        f"{name}: not a parameter of template {template.temp_id} (it has {', '.join(spec) or 'none'})"
        for name in given
        if name not in spec
    ]
    for parameter in template.parameters:
        problems += _value_problems(parameter, given.get(parameter.name))
    return problems


def _value_problems(parameter: TemplateParameter, value: str | None) -> list[str]:
    """Why eSMS would refuse this value (None: not given) for this parameter of the template."""
    if value is None:
        return [f"{parameter.name}: required by the template, missing"] if parameter.required else []
    if value == "":
        if parameter.accept_null is False:
            return [f"{parameter.name}: empty, which the template does not accept"]
        return []
    problems = []
    if parameter.max_length is not None and len(value) > parameter.max_length:
        problems.append(f"{parameter.name}: {len(value)} characters, at most {parameter.max_length}")
    if parameter.min_length and len(value) < parameter.min_length:
        problems.append(f"{parameter.name}: {len(value)} characters, at least {parameter.min_length}")
    if parameter.type == "NUMBER" and not _NUMBER.fullmatch(value):
        problems.append(f"{parameter.name}: a number, digits only (at most 12)")
    if parameter.type == "DATE" and not _is_date(value):
        problems.append(f"{parameter.name}: a date, dd/MM/yyyy")
    return problems


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        return False
    return True
