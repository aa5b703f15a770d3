"""What every function is configured and wired with: settings, secrets, observability, composition."""
