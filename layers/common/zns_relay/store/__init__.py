"""Data access, the only code that reads or writes a table or queue: MessagesTable (messages, and the
status API's lists in message_index), ThrottleTable (the shared send rate), SQS visibility (queue) and
the FallbackQueue."""
