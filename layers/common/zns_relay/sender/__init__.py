"""SenderFunction's logic: claim, send to eSMS, record; pace the senders; plan and seal SMS fallbacks."""
