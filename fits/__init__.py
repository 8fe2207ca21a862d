"""The training math, pure: numpy and torch only, nothing of fitq's, no web, queue or database package.
Runs in the worker; its torch-free tables (catalog, params, batch_key) are read by the API too."""
