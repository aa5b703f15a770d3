"""Guardrails on the OAs this deployment sends for: their ZNS quota left today and their quality, read
from eSMS on a schedule (check), turned into metrics and findings (evaluation) that the alarms watch."""
