"""The v1beta REST API, one module per resource: thin adapters that parse, call one
service, shape the answer (:mod:`.triggers` are async views; the rest are DRF's)."""
