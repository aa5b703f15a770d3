"""StatusFunction's logic: the status API's answers (a message, the lists of a phone, campaign or status)."""
