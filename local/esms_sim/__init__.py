"""A local stand-in for eSMS: its send, status and account endpoints, result codes, faults and callbacks.

It answers in eSMS's documented shapes (reference: esms-api-facts.md sections 1-6 and the samples eSMS
published) and calls the CallbackUrl back in eSMS's exact GET format. docs/esms-simulator.md lists every
endpoint, configuration key and `/_sim/*` control endpoint. `python -m local.esms_sim` runs it on its own
(__main__.py). Its parts: config (the knobs), templates, validation, answers, reports, sent_data, limits,
phones, zalo_rules (Zalo's refusals: the night on a Vietnam clock, quotas, refusing numbers, template
statuses), server (the HTTP plumbing), simulator (EsmsSimulator, which ties them together).
"""

from local.esms_sim.config import SMS_OUTCOMES, ZNS_OUTCOMES, SimulatorConfig
from local.esms_sim.reports import SMS_CALLBACK_PARAMETERS, ZNS_CALLBACK_PARAMETERS
from local.esms_sim.simulator import (
    BASE_PATH,
    ENDPOINTS,
    LIMITS,
    LOCAL_API_KEY,
    LOCAL_SECRET_KEY,
    REDACTED,
    EsmsSimulator,
    redact_url,
)
from local.esms_sim.templates import DEFAULT_TEMPLATES, TemplateParam, ZnsTemplate

__all__ = [
    "BASE_PATH",
    "DEFAULT_TEMPLATES",
    "ENDPOINTS",
    "LIMITS",
    "LOCAL_API_KEY",
    "LOCAL_SECRET_KEY",
    "REDACTED",
    "SMS_CALLBACK_PARAMETERS",
    "SMS_OUTCOMES",
    "ZNS_CALLBACK_PARAMETERS",
    "ZNS_OUTCOMES",
    "EsmsSimulator",
    "SimulatorConfig",
    "TemplateParam",
    "ZnsTemplate",
    "redact_url",
]
