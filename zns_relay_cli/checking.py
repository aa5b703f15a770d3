"""TempData against a template's registered parameters, as eSMS checks it (and answers 790 when it
does not fit): names, required ones, empty values, lengths and types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from zns_relay.models.contract import TemplateParam
from zns_relay_client.esms_account import Template, TemplateParameter

ENABLED = "ENABLE"
DATE_FORMAT = "%d/%m/%Y"
_NUMBER = re.compile(r"[0-9]{1,12}")  # eSMS's type_number: digits only, at most 12


def template_problems(template: Template, params: Sequence[TemplateParam]) -> list[str]:
    """Why eSMS would refuse this TempData for this template; empty when it fits."""
    problems = []
    if template.status not in (None, ENABLED):
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
    try:
        datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        return False
    return True
