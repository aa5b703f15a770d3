"""One cold init, timed from inside a fresh interpreter: `python bench/cold_start.py <what>`.

<what> is `handler:<module>` (import a function's handler module: its Settings, clients and
composition) or `baseline:<service>,<service>` (import boto3 and requests, and create those boto3
clients and a pooled requests session). Prints {"wall": s, "cpu": s} on one line. It imports nothing
else before the clock starts, so that what it times is what Lambda's init would run.
"""

import sys
import time

started_wall, started_cpu = time.perf_counter(), time.process_time()
kind, _, argument = sys.argv[1].partition(":")
if kind == "handler":
    __import__(argument)
else:
    import boto3
    import requests
    from botocore.config import Config
    from requests.adapters import HTTPAdapter

    config = Config(max_pool_connections=10, retries={"mode": "standard", "max_attempts": 3})
    clients = [boto3.client(service, config=config) for service in argument.split(",")]  # type: ignore[call-overload]
    session = requests.Session()
    session.mount("https://", HTTPAdapter(pool_maxsize=10, max_retries=0))
wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
print(f'{{"wall": {wall}, "cpu": {cpu}}}')
