"""`python -m zns_relay_cli`, the same as the `zns-relay` command."""

from zns_relay_cli.app import main

raise SystemExit(main())
