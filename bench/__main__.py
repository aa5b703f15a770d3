"""`python -m bench` (or `make bench`): run every benchmark."""

from bench import batch_concurrency, local_stack_throughput

raise SystemExit(max(batch_concurrency.main(), local_stack_throughput.main([])))
