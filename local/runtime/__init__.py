"""Lambda on loopback: the template read as CloudFormation would, execution environments, event sources.

- template: template.yaml read as SAM reads it, its intrinsics resolved (Ref, GetAtt, Sub, Join, If).
- lambda_runtime: execution environments as Lambda runs them (reuse, timeouts, crashes, logs).
- event_source: the SQS event source mapping (batches, partial batch failures).
- streams: the DynamoDB stream event source mapping (filters, retries).
- http_api: the HTTP API: requests become payload-2.0 events for the routed function.
- schedule: a function's `Type: Schedule` event, on a short period.
"""
