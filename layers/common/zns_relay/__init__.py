"""zns-relay's shared core: contract, eSMS client, message store, credentials and send logic."""
