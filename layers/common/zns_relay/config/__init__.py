"""What every function is configured with: settings, secrets, observability.

zns_relay.composition wires them into each function's objects."""
