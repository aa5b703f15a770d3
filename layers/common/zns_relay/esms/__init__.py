"""Everything that speaks to eSMS: the send endpoint now, the status and account endpoints next."""
