"""A small HTTP client of fitq's API for the command line: the standard library only, one error type."""
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000"  # where `fitq up` serves with no HOST or PORT set
# Answers that a retry a little later may well turn into a success: the API restarting, or busy.
TRANSIENT = frozenset({429, 502, 503, 504})
TOKEN_HINT = ("pass a token with --token TOKEN or the FITQ_TOKEN environment variable "
              "(made on the server with `fitq token create NAME`)")


class ApiError(Exception):
    """A request fitq refused or could not get to; the message is one line for a person."""

    def __init__(self, message, status=None, problem=None):
        super().__init__(" ".join(message.split()))
        self.status, self.problem = status, problem or {}

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed a little later: no answer at all, a 429 or a 502-504."""
        return self.status is None or self.status in TRANSIENT


class Client:
    """GET and POST JSON to one fitq deployment, with its bearer token when there is one."""

    def __init__(self, url=DEFAULT_URL, token=None, timeout=30):
        self.url, self.token, self.timeout = url.rstrip("/"), token or None, timeout

    def get(self, path, **query):
        """The JSON answer to GET path?query (None values left out)."""
        kept = {k: v for k, v in query.items() if v is not None}
        return self._send("GET", path + (f"?{urllib.parse.urlencode(kept)}" if kept else ""))

    def post(self, path, body=None):
        """The JSON answer to POST path with a JSON body."""
        return self._send("POST", path, body if body is not None else {})

    def open_stream(self, path, last_event_id=None, timeout=None):
        """An open text/event-stream answer to GET path (resumed after `last_event_id`); ApiError if the
        request is refused or answered with anything but an event stream."""
        headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
                   **({"Last-Event-ID": last_event_id} if last_event_id else {})}
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as err:
            raise self._refusal(err) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            raise self._unreachable(err) from None
        if not response.headers.get("Content-Type", "").startswith("text/event-stream"):
            response.close()
            raise ApiError(f"{self.url}{path} did not answer with an event stream", status=response.status)
        return response

    def _send(self, method, path, body=None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            raise self._refusal(err) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:  # refused, cut off
            raise self._unreachable(err) from None
        try:
            return json.loads(raw)
        except ValueError:  # not fitq, or a proxy in between
            raise ApiError(f"{self.url} did not answer with JSON; is it fitq's address?",
                           status=status) from None

    def _unreachable(self, err):
        reason = getattr(err, "reason", err)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            reason = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, OSError) and reason.strerror:  # not "[Errno 111] Connection refused"
            reason = reason.strerror
        elif isinstance(reason, http.client.HTTPException):  # e.g. the server closed mid-answer
            reason = f"{type(reason).__name__} {reason}".strip()
        return ApiError(f"cannot reach fitq at {self.url}: {reason}")

    def _refusal(self, err):
        # problem+json from fitq says what was wrong in `detail`; anything else (a proxy, gunicorn's
        # 414/431 pages) gets its status line.
        try:
            problem = json.loads(err.read())
        except (ValueError, OSError):
            problem = None
        if not isinstance(problem, dict) or not isinstance(problem.get("detail"), str):
            return ApiError(f"{err.code} {err.reason} from {self.url}", status=err.code)
        detail = problem["detail"]
        if err.code == 401:
            detail = f"{detail}; {TOKEN_HINT}" if not self.token else \
                f"the token was refused: {detail}; check --token or FITQ_TOKEN"
        return ApiError(detail, status=err.code, problem=problem)
