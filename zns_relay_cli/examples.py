"""The examples each `--help` ends with."""

from __future__ import annotations


def _examples(*lines: str) -> str:
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(f"  {line}" for line in lines)


ROOT = _examples(
    "zns-relay --local send --phone 0901888484 --temp-id 2056446 --data customer_name=An",
    "zns-relay --stack zns-relay-prod --profile ops status order-DH240501-confirm",
    "zns-relay list --status FAILED --since 2h --json | jq -r '.[].requestId'",
) + (
    "\n\nThe stack: --local (or a running local stack, found by itself), else --stack, else samconfig.toml's."
    "\n\nExit status: 0 done, 1 failed or found problems, 2 wrong command line or input (nothing done),"
    " 3 not found."
)
SEND = _examples(
    "zns-relay send --phone 0901888484 --temp-id 2056446 --data customer_name=An --request-id order-1",
    "zns-relay send --file messages.jsonl            # JSON lines, a JSON array, or one object",
    "zns-relay send --file messages.jsonl --dry-run  # check them all, send nothing",
    "cat messages.jsonl | zns-relay send --file - --json",
)
STATUS = _examples(
    "zns-relay status order-DH240501-confirm",
    "zns-relay status order-DH240501-confirm --json | jq .history",
)
LIST = _examples(
    "zns-relay list --status FAILED --since 2h",
    "zns-relay list --phone 0901888484 --limit 10",
    "zns-relay list --campaign autumn-sale --since 2026-11-27T00:00:00+07:00 --json",
)
WATCH = _examples(
    "zns-relay watch",
    "zns-relay watch --final --campaign autumn-sale",
    "zns-relay watch --request-id order-1 --count 1 --json",
)
REDRIVE = _examples(
    "zns-relay redrive",
    "zns-relay --stack zns-relay-prod redrive --rate 10",
)
BALANCE = _examples("zns-relay balance", "zns-relay balance --json")
SUPPRESSIONS_LIST = _examples(
    "zns-relay suppressions list",
    "zns-relay suppressions list --oa 4097311281936189049 --phone 0901888484 --json",
)
SUPPRESSIONS_CLEAR = _examples(
    "zns-relay suppressions clear --oa 4097311281936189049 --phone 0901888484",
    "zns-relay suppressions clear --oa 4097311281936189049 --phone 0901888484 --temp-id 267247",
)
QUOTA = _examples("zns-relay quota", "zns-relay quota --oa-id 4097311281936189049")
TEMPLATES = _examples("zns-relay templates", "zns-relay templates 267247")
CHECK = _examples(
    "zns-relay check --temp-id 267247 --phone 0901888484 --data customer_name=An --data date=27/11/2026",
    "zns-relay check --file messages.jsonl",
)
