"""A Powertools BatchProcessor that handles the records of one invocation concurrently."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class ConcurrentBatchProcessor(BatchProcessor):
    """Same partial-failure semantics as BatchProcessor, but the records run on a thread pool.

    A batch of ten eSMS sends then costs about one round trip instead of ten. The record handler
    must be thread-safe; Powertools' own success and failure bookkeeping only appends to lists. The
    pool lives as long as the execution environment: its threads are started once, not per batch.
    """

    def __init__(self, max_workers: int) -> None:
        # A fully failed batch still answers with its item failures rather than an invocation error:
        # the failures are expected (eSMS down, throttling) and already have their backoff set.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="send")

    def process(self) -> list[tuple]:  # type: ignore[type-arg]
        if len(self.records) <= 1:
            return super().process()
        return list(self._pool.map(self._process_record, self.records))
