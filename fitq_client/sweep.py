"""A handle on one sweep: its counts by status, its best job, and a wait for its end."""
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from fitq_client import sse
from fitq_client.errors import StreamUnavailable
from fitq_client.following import follow
from fitq_client.job import Job
from fitq_client.models import FINISHED
from fitq_client.polling import changes, until
from fitq_client.transport import Transport


class Sweep:
    """One sweep, a grid of jobs or a search's trials; its fields are those of the last document read."""

    def __init__(self, transport: Transport, document: dict[str, Any],
                 listing: Callable[..., Iterator[Job]]):
        self._transport, self.document, self._listing = transport, document, listing

    def __repr__(self) -> str:
        return f"<Sweep {self.id} {self.size} jobs, {self.done} finished>"

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """What the API said of the submission it accepted (an unstable learning rate), else []."""
        return list(self.document.get("warnings", ()))

    @property
    def id(self) -> str:
        """The sweep's id."""
        return str(self.document["id"])

    @property
    def size(self) -> int:
        """How many jobs the grid made; a search's trials at most, then, once it ended, how many it asked."""
        return int(self.document["size"])

    @property
    def counts(self) -> dict[str, int]:
        """Its jobs counted by status."""
        return dict(self.document["counts"])

    @property
    def done(self) -> int:
        """How many of its jobs have ended, one way or another."""
        return sum(n for status, n in self.counts.items() if status in FINISHED)

    @property
    def finished(self) -> bool:
        """Whether every job of it has ended (and a search has stopped asking)."""
        return bool(self.document["finished"])

    def best(self) -> Job | None:
        """Its succeeded job of least final loss so far (a search's: of least relative excess loss), read
        in full; None while none succeeded."""
        best = self.document.get("best")
        if not best:
            return None
        return Job(self._transport, {"id": best["job_id"]}).refresh()

    def jobs(self, **filters: Any) -> Iterator[Job]:
        """Its jobs, page by page as they are read (filters as Client.jobs takes them)."""
        return self._listing(sweep=self.id, **filters)

    def refresh(self) -> "Sweep":
        """Read the sweep's document again; returns the handle."""
        self.document = self._transport.get(f"/api/v1/sweeps/{quote(self.id, safe='')}")
        return self

    def deliveries(self) -> list[dict[str, Any]]:
        """Its webhook delivery (with a callback_url, once its last job ended) and each attempt."""
        return list(self._transport.get(f"/api/v1/sweeps/{quote(self.id, safe='')}/deliveries")["items"])

    def events(self, last_event_id: str | None = None) -> Iterator[sse.Event]:
        """The sweep's event stream: `job` (each finished job), `counts`, `best` and a final `end`;
        StreamUnavailable on an API without streams. Reading it keeps this handle's counts up to date."""
        path = f"/api/v1/sweeps/{quote(self.id, safe='')}/events"
        for event in sse.parse(self._transport.lines(path, last_event_id)):
            if event.event == "counts" and isinstance(event.data, dict):
                self.document = {**self.document, "counts": event.data}
            yield event
            if event.event == "end":
                return

    def wait(self, progress: Callable[["Sweep"], object] | None = None, timeout: float | None = None,
             poll_s: float = 1.0, notify: Callable[[str], object] | None = None,
             changes_only: bool = True, stream: bool = True) -> "Sweep":
        """Follow the sweep until every job has ended, from its event stream or, where none opens (or
        stream=False), by polling; `progress` gets the handle when its counts change (polling with
        changes_only=False: at each reading), `notify` a line when the wait changes course; TimeoutError
        after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if stream and not self.finished:
            try:
                self._stream(progress, deadline, notify)
                return self
            except StreamUnavailable as err:
                # An API without streams (404, 405) is no news; a stream that failed is (a buffering proxy).
                if notify and err.status not in (404, 405):
                    notify(f"{err}; polling instead")
        report = changes(progress and (lambda counts: progress(self)), lambda sweep: sweep.counts, changes_only)
        try:
            return until(self.refresh, lambda sweep: sweep.finished, report, notify, poll_s, deadline, first=self)
        except TimeoutError:
            raise self._late() from None

    def _stream(self, progress: Callable[["Sweep"], object] | None, deadline: float | None,
                notify: Callable[[str], object] | None) -> None:
        def on_event(event: sse.Event) -> bool:
            if event.event == "counts" and progress:
                progress(self)
            elif event.event == "end":
                self.refresh()  # the finished sweep's document: its best job, `finished` true
                if progress:
                    progress(self)
                return True
            return False

        def check() -> None:
            if deadline is not None and time.monotonic() > deadline:
                raise self._late()

        follow(self.events, on_event, notify, check)

    def _late(self) -> TimeoutError:
        return TimeoutError(f"sweep {self.id} has {self.done} of {self.size} jobs finished after the wait's "
                            "timeout")
