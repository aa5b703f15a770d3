"""`python -m bench` (or `make bench`): every figure, one table, bench/results.json (bench/run.py)."""

from bench.run import main

raise SystemExit(main())
