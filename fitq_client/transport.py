"""JSON over HTTP to one fitq deployment, with the standard library only."""
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from fitq_client.errors import FitqError, StreamUnavailable

EVENT_STREAM = "text/event-stream"
# A stream that stays silent this long is broken: the server comments every 15 s to keep it open.
STREAM_TIMEOUT_S = 60.0


class Transport:
    """Sends requests with the bearer token and turns every failure into a FitqError."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0):
        self.url, self.token, self.timeout = url.rstrip("/"), token or None, timeout

    def get(self, path: str, **query: Any) -> Any:
        """The JSON answer to GET path?query (None values left out)."""
        return self.send("GET", _with_query(path, query))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """The JSON answer to POST path with a JSON body."""
        return self.send("POST", path, body if body is not None else {}, headers)

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer to one request."""
        request = self._request(method, path, body, {"Accept": "application/json", **(headers or {})})
        with self._open(request, self.timeout) as response:
            status, raw = response.status, response.read()
        try:
            return json.loads(raw)
        except ValueError:  # not fitq, or a proxy in between
            raise FitqError(f"{self.url} did not answer with JSON; is it fitq's address?",
                            status=status) from None

    def lines(self, path: str, last_event_id: str | None = None) -> Iterator[str]:
        """The lines of an event stream at path, read as they come; StreamUnavailable when there is none."""
        headers = {"Accept": EVENT_STREAM, "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        try:
            response = self._open(self._request("GET", path, None, headers), STREAM_TIMEOUT_S)
        except FitqError as err:
            if err.status in (404, 405, 406):  # an API without streams (or the route's method)
                raise StreamUnavailable(f"no event stream at {path}: {err}", err.status, err.problem) from None
            raise
        with response:
            if not response.headers.get("Content-Type", "").startswith(EVENT_STREAM):
                raise StreamUnavailable(f"{path} did not answer with an event stream", response.status)
            try:
                while line := response.readline():
                    yield line.decode("utf-8")
            except (OSError, http.client.HTTPException) as err:
                raise FitqError(f"the event stream from {self.url} broke off: {_reason(err, STREAM_TIMEOUT_S)}") \
                    from None

    def _request(self, method: str, path: str, body: Any, headers: dict[str, str]) -> urllib.request.Request:
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return urllib.request.Request(self.url + path, data=data, headers=headers, method=method)

    def _open(self, request: urllib.request.Request, timeout: float) -> Any:
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as err:
            try:
                raw = err.read()
            except OSError:  # the answer broke off: its status line is still known
                raw = b""
            raise self.refusal(err.code, err.reason, raw) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:  # refused, cut off
            raise FitqError(f"cannot reach fitq at {self.url}: {_reason(err, timeout)}") from None

    def refusal(self, status: int, reason: str, raw: bytes) -> FitqError:
        """The error for an answer >= 400: its problem's detail, else its status line."""
        # problem+json from fitq says what was wrong in `detail`; anything else (a proxy, gunicorn's
        # 414/431 pages) gets its status line.
        try:
            problem = json.loads(raw)
        except ValueError:
            problem = None
        if not isinstance(problem, dict) or not isinstance(problem.get("detail"), str):
            return FitqError(f"{status} {reason} from {self.url}", status=status)
        return FitqError(problem["detail"], status=status, problem=problem)


def _with_query(path: str, query: dict[str, Any]) -> str:
    kept = {k: v for k, v in query.items() if v is not None}
    return path + (f"?{urllib.parse.urlencode(kept)}" if kept else "")


def _reason(err: BaseException, timeout: float) -> str:
    reason = getattr(err, "reason", err)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:  # not "[Errno 111] Connection refused"
        return reason.strerror
    if isinstance(reason, http.client.HTTPException):  # e.g. the server closed mid-answer
        return f"{type(reason).__name__} {reason}".strip()
    return str(reason)
