"""Every patch of moto, werkzeug and jsonpath-ng the local stack installs, one module per concern.

- patching: the machinery (Patch, apply, patched): each patch pinned to the code it was checked
  against (CHECKED_VERSIONS, pinned in requirements-dev.txt) and no attribute patched twice.
- atomic: DynamoDB's writes atomic and its reads consistent, as DynamoDB's are (moto's are not).
- streams: one DynamoDB stream record per write, as DynamoDB Streams gives.
- sqs: SQS fast at a soak's depths, and its receive and delete safe under concurrent pollers.
- update_expressions: UpdateItem's expression parsed and validated without redoing the work.
- responses: moto's dispatch, its model bookkeeping and DynamoDB's responses made fast.
- events: EventBridge's input template's JSONPath expressions parsed once, not at every event.
- serving: moto's server keeps each connection open.
"""

from local.aws.patches import atomic, events, responses, serving, sqs, streams, update_expressions

# Every patch of the server process: DynamoDB's semantics (atomic writes, one stream record per write),
# then speed (SQS, DynamoDB, dispatch, EventBridge's JSONPath, kept connections). No attribute twice.
# The speed-ups: what each buys is in its module's docstring (measured under bench/local_stack_throughput.py).
SPEEDUPS = (*sqs.PATCHES, *update_expressions.PATCHES, *responses.PATCHES)
SERVER_PATCHES = (*atomic.PATCHES, *streams.PATCHES, *SPEEDUPS, *events.PATCHES, *serving.PATCHES)
