"""Builds the long-lived objects of a function once per execution environment (Lambda init): a module
per function, so that each function imports only what it wires (its cold init, `make bench` 3)."""
