"""What the client raises: fitq's problem+json answers, and a server it could not reach."""
from typing import Any

# Answers that a retry a little later may well turn into a success: the API restarting, or busy.
TRANSIENT = frozenset({429, 502, 503, 504})


class FitqError(Exception):
    """A request fitq refused (`status`, `detail`, `field` from its problem) or could not get to
    (`status` None); the message is one line for a person."""

    def __init__(self, message: str, status: int | None = None, problem: dict[str, Any] | None = None):
        super().__init__(" ".join(message.split()))
        self.status, self.problem = status, problem or {}

    @property
    def detail(self) -> str:
        """The problem's detail, else the message."""
        detail = self.problem.get("detail")
        return detail if isinstance(detail, str) else str(self)

    @property
    def field(self) -> str | None:
        """The body field, header or query parameter at fault, when the problem names one."""
        field = self.problem.get("field")
        return field if isinstance(field, str) else None

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed a little later: no answer at all, a 429 or a 502-504."""
        return self.status is None or self.status in TRANSIENT


class StreamUnavailable(FitqError):
    """The events stream could not be opened (no such route, or not an event stream): poll instead."""
