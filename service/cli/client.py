"""The CLI's client of fitq's API: fitq_client, with its errors as ApiError and a 401 that says how to
pass a token. Kept as raw get/post for the commands that only print what the API answers."""
from typing import Any

import fitq_client
from fitq_client.client import DEFAULT_URL
from fitq_client.transport import Transport

__all__ = ["DEFAULT_URL", "ApiError", "Client"]

ApiError = fitq_client.FitqError
TOKEN_HINT = ("pass a token with --token TOKEN or the FITQ_TOKEN environment variable "
              "(made on the server with `fitq token create NAME`)")


class _Transport(Transport):
    def refusal(self, status: int, reason: str, raw: bytes) -> ApiError:
        err = super().refusal(status, reason, raw)
        if status != 401 or not err.problem:
            return err
        detail = err.detail
        detail = f"{detail}; {TOKEN_HINT}" if not self.token else \
            f"the token was refused: {detail}; check --token or FITQ_TOKEN"
        return ApiError(detail, status=status, problem=err.problem)


class Client(fitq_client.Client):
    """fitq_client's Client for the command line: a 401 says how to pass a token."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 30.0):
        self.transport = _Transport(url, token, timeout)

    def get(self, path: str, **query: Any) -> Any:
        """The JSON answer to GET path?query (None values left out)."""
        return self.transport.get(path, **query)

    def post(self, path: str, body: Any = None) -> Any:
        """The JSON answer to POST path with a JSON body."""
        return self.transport.post(path, body)
