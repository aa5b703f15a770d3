"""`zns-relay`: the operator's and producer's command line, for a deployed stack and the local one."""
