"""The `fitq` command, in the user's shell: the process commands (up, api, worker, sweeper, migrate,
token, workers) and the API's HTTP client commands, which import nothing of the server's packages."""
