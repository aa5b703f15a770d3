"""The embedded local stack: AWS on loopback (moto), an eSMS simulator, and the event sources.

It imports the functions' shared package (zns_relay) as installed in the project's environment
(`make dev`, pyproject.toml); it runs each function's handler with the layer's folder on its path,
where Lambda puts the layer (local/lambda_runtime.py).
"""
