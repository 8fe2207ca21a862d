"""The HTTP API (/api/v1, the probes, /metrics), in the API process under gunicorn. Imports the store, the
queue, the roster and fits' torch-free tables (catalog, params, batch_key); never torch or numpy, never
another wing."""
