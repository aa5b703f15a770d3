"""The zns-relay commands, a module each: each module's `app` holds its one command."""
