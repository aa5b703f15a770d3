"""`python -m bench` (or `make bench`): run every benchmark."""

from bench.batch_concurrency import main

raise SystemExit(main())
