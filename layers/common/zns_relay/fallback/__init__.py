"""FallbackFunction's logic: a message that ended FAILED or UNKNOWN with a planned SMS queues that SMS."""
