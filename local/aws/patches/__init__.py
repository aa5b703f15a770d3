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

What the speed-ups buy, measured (bench/local_stack_throughput.py --messages 600, each module's patches
left out in turn, moto 5.2.5, a 2-core machine shared with other work at a load of 9 to 13: wall-clock
rates move by a third from run to run, the server's CPU time per message by ~10%). With every speed-up:
12.4 and 12.8 ms of moto server CPU a message (two runs), a 46-49 msg/s drain, a full Scan in 0.45-0.54 s.
Without:

- sqs: 23.7 ms a message, 20 msg/s (and its locks keep pollers from receiving one message twice).
- update_expressions: 32.5 ms a message, 10 msg/s; a Scan 2.5 s, an UpdateItem p50 1.7 s beside one.
- responses: 20.7 ms a message, 28 msg/s; a full Scan 3.8 s. Its dispatch part alone: 15.8 and 15.9 ms.
  Its bookkeeping part alone: 13.7 and 14.6 ms, a Scan 0.85 and 1.26 s (moto's tracked copies of every
  message and item weigh on the garbage collector; a test asserts they are no longer kept).
- events: 7.9-10.5 ms of CPU a PutEvents to a rule with an SQS target, 2.9-3.4 ms with it (in process).
- serving (kept connections: its KeepAliveRequestHandler and its patch): 14.4 ms a message, 45 msg/s,
  a Scan 0.8 s. Its patch is needed by that handler: without it, werkzeug's read after each answer takes
  the client's next request on a kept connection, and the bench published nothing in 400 s.

None measurably buys nothing, so none was dropped.
"""

from local.aws.patches import atomic, events, responses, serving, sqs, streams, update_expressions

# Every patch of the server process: DynamoDB's semantics (atomic writes, one stream record per write),
# then speed (SQS, DynamoDB, dispatch, EventBridge's JSONPath, kept connections). No attribute twice.
# The speed-ups (what each buys: above), together for the tests that run moto in process with them.
SPEEDUPS = (*sqs.PATCHES, *update_expressions.PATCHES, *responses.PATCHES)
SERVER_PATCHES = (*atomic.PATCHES, *streams.PATCHES, *SPEEDUPS, *events.PATCHES, *serving.PATCHES)
