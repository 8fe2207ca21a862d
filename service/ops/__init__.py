"""Operations: the sweeper (its own process), the `fitq up` supervisor and the embedded Redis it starts.
Imports the shared layer and the store; never the API, the dashboard or the worker."""
