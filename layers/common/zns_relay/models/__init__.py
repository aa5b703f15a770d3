"""Every model of zns-relay: the producer contract, eSMS's request and results, the stored state."""
