"""What runs outside AWS, installed with the `zns-relay` command and not shipped in the layer: the
producers' publisher library, the eSMS account client and the contract's JSON Schema printer."""
