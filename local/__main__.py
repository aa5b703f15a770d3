"""`python -m local ...`: the embedded stack's command line (see local/cli.py)."""

from local.cli import main

raise SystemExit(main())
