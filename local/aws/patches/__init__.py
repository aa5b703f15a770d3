"""Every patch of moto, werkzeug and jsonpath-ng the local stack installs, one module per concern.

- patching: the machinery (Patch, apply, patched): each patch pinned to the code it was checked
  against (CHECKED_VERSIONS, pinned in requirements-dev.txt) and no attribute patched twice.
- atomic: DynamoDB's writes atomic and its reads consistent, as DynamoDB's are (moto's are not).
- streams: one DynamoDB stream record per write, as DynamoDB Streams gives.
- speedups: SQS, DynamoDB and moto's dispatch made fast (what each buys: its docstring).
- events: EventBridge's input template's JSONPath expressions parsed once, not at every event.
- serving: moto's server keeps each connection open.
"""

from local.aws.patches import atomic, events, serving, speedups, streams

# Every patch of the server process: DynamoDB's semantics (atomic writes, one stream record per write),
# then speed (SQS, DynamoDB, dispatch, EventBridge's JSONPath, kept connections). No attribute twice.
SERVER_PATCHES = (*atomic.PATCHES, *streams.PATCHES, *speedups.PATCHES, *events.PATCHES, *serving.PATCHES)
