"""The embedded local stack: AWS on loopback (moto), an eSMS simulator, and the event sources."""
