"""The local eSMS simulator, in parts: configuration, templates, validation, reports, answers, limits.

Import it through `local.esms_simulator`; local/README.md describes every endpoint and knob.
"""
