"""The embedded local stack: AWS on loopback (moto), an eSMS simulator, and the event sources.

Its rooms: aws/ (the moto server and every patch of moto), runtime/ (the template, Lambda's execution
environments and event sources), esms_sim/ (the eSMS simulator, runnable on its own:
`python -m local.esms_sim`), scenarios/ (the demo, the soak, crash points); stack.py wires them
together (with timings.py, the timings it checks), cli.py is `python -m local`.

It imports the functions' shared package (zns_relay) as installed in the project's environment
(`make dev`, pyproject.toml); it runs each function's handler with the layer's folder on its path,
where Lambda puts the layer (local/runtime/lambda_runtime.py).
"""
