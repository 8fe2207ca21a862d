"""Operations: the sweeper and the webhook deliverer (their own processes), the `fitq up` supervisor and the
embedded Redis it starts. Imports the shared layer and the store; never the dashboard or the worker, and of
the API only its job document (what a webhook carries)."""
