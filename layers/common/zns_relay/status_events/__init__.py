"""PublisherFunction's logic: the table's change stream to status events on EventBridge."""
