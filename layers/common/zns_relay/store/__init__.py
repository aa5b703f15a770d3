"""Data access: DynamoDB (message state) and SQS (retry visibility)."""
