"""What the account commands (balance, quota, templates, check) share: the account client of a
deployment, the OA a command means, and a template as eSMS knows it."""

from __future__ import annotations

from typing import Any

from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.models.template import Template
from zns_relay_cli.deployment import Deployment
from zns_relay_cli.errors import NotFound, UserError
from zns_relay_client.esms_account import EsmsAccountClient


def account_client(deployment: Deployment) -> EsmsAccountClient:
    return EsmsAccountClient(deployment.esms_base_url)


def chosen_oa(oa_id: str | None, deployment: Deployment) -> str:
    chosen = oa_id or deployment.default_oa_id
    if not chosen:
        raise UserError("which OA? pass --oa-id (the stack has no DefaultOaId)")
    return chosen


def find_template(client: EsmsAccountClient, credentials: Any, oa_id: str, temp_id: str) -> Template:
    """GetZnsTemplateInfo's full spec, else GetTemplate's summary of it, else NotFound."""
    try:
        return client.template(credentials, oa_id, temp_id)
    except EsmsQueryFailed as detailed:
        listed = {template.temp_id: template for template in client.templates(credentials, oa_id)}
        if temp_id in listed:
            return listed[temp_id]
        raise NotFound(f"template {temp_id}: not registered for OA {oa_id} ({detailed})") from None
