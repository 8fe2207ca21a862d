"""A handle on one job: its document, refreshed on request, and ways to follow it to its end."""
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from fitq_client import sse
from fitq_client.errors import StreamUnavailable
from fitq_client.following import follow
from fitq_client.models import FINISHED, History, JobError, Point, Progress, Result
from fitq_client.polling import changes, until
from fitq_client.transport import Transport

OnProgress = Callable[[Progress], object]
Notify = Callable[[str], object]


class Job:
    """One job of a fitq deployment; its fields are those of the last document read."""

    def __init__(self, transport: Transport, document: dict[str, Any]):
        self._transport, self.document = transport, document
        self.stream_notice: str | None = None  # why the last wait polled instead of streaming

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.variant} {self.status}>"

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """What the API said of the submission it accepted (an unstable learning rate), else []."""
        return list(self.document.get("warnings", ()))

    @property
    def id(self) -> str:
        """The job's id."""
        return str(self.document["id"])

    @property
    def variant(self) -> str:
        """The training variant it runs."""
        return str(self.document["variant"])

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter, the variant's defaults filled in."""
        return dict(self.document["params"])

    @property
    def status(self) -> str:
        """queued, running, succeeded, failed, diverged, cancelled or pruned (a search trial stopped early)."""
        return str(self.document["status"])

    @property
    def finished(self) -> bool:
        """Whether it has ended, one way or another."""
        return self.status in FINISHED

    @property
    def progress(self) -> Progress:
        """Its step of its steps, as last read."""
        step = self.document["progress"]
        return Progress(step["step"], step["steps"], status=self.status)

    @property
    def result(self) -> Result | None:
        """The fit, once it succeeded."""
        found = self.document.get("result")
        return Result.of(found) if found else None

    @property
    def error(self) -> JobError | None:
        """Why it failed, diverged or was cancelled."""
        found = self.document.get("error")
        return JobError(found["type"], found["message"]) if found else None

    @property
    def notice(self) -> str | None:
        """Why a queued job may not start soon (no live worker on its queue), else None."""
        return self.document.get("notice")

    @property
    def _path(self) -> str:
        return f"/api/v1/jobs/{quote(self.id, safe='')}"

    def refresh(self) -> "Job":
        """Read the job's document again; returns the handle."""
        self.document = self._transport.get(self._path)
        return self

    def cancel(self) -> "Job":
        """Cancel it if it has not finished (a 409 FitqError if it had); returns the handle."""
        self.document = self._transport.post(f"{self._path}/cancel")
        return self

    def deliveries(self) -> list[dict[str, Any]]:
        """Its webhook deliveries (with a callback_url, once it ended): url, state, and each attempt's time,
        status_code or error."""
        return list(self._transport.get(f"{self._path}/deliveries")["items"])

    def history(self, max_points: int | None = None) -> History:
        """Its stored loss history (a 409 FitqError until it has a result), at most max_points."""
        answer = self._transport.get(f"{self._path}/history", max_points=max_points)
        return History([Point(p["step"], p["loss"]) for p in answer["loss_history"]], self.id,
                       answer["downsampled"])

    def events(self, last_event_id: str | None = None) -> Iterator[sse.Event]:
        """The job's event stream: `progress`, `status` and a final `end`; StreamUnavailable on an API
        without streams. Reading it keeps this handle's document up to date."""
        for event in sse.parse(self._transport.lines(f"{self._path}/events", last_event_id)):
            if event.event == "status" and isinstance(event.data, dict):
                self.document = event.data
            yield event
            if event.event == "end":
                return

    def wait(self, progress: OnProgress | None = None, timeout: float | None = None, poll_s: float = 1.0,
             stream: bool = True, notify: Notify | None = None, changes_only: bool = True) -> "Job":
        """Follow the job to its end, from its event stream or, where none opens (or stream=False), by
        polling every poll_s at most. `progress` gets a Progress per event (polling: per change read, or
        per reading with changes_only=False);
        `notify` a line when the wait changes course (a stream that failed, an API that stopped
        answering). Returns the handle, refreshed; TimeoutError after about `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.stream_notice = None
        if stream and not self.finished:
            try:
                self._stream(progress, deadline, notify)
                # The last `status` event is the finished job's document; read it again only without one.
                return self if self.finished else self.refresh()
            except StreamUnavailable as err:
                self.stream_notice = f"{err}; polling instead"
                # An API without streams (404, 405) is no news; a stream that failed is (a buffering proxy).
                if notify and err.status not in (404, 405):
                    notify(self.stream_notice)
        try:
            report = changes(progress, lambda job: job.progress, changes_only)
            return until(self.refresh, lambda job: job.finished, report, notify, poll_s, deadline, first=self)
        except TimeoutError:
            raise TimeoutError(f"job {self.id} is still {self.status} after the wait's timeout") from None

    def _stream(self, progress: OnProgress | None, deadline: float | None, notify: Notify | None) -> None:
        def on_event(event: sse.Event) -> bool:
            if event.event == "progress" and progress:
                data = event.data
                # Points come before the status event that tells of them: a job with points is running.
                status = "running" if self.status == "queued" else self.status
                progress(Progress(data["step"], data["steps"], data.get("loss"), status))
            elif event.event == "status" and progress:
                progress(self.progress)
            return event.event == "end"

        follow(self.events, on_event, notify, lambda: _check(deadline, self))


def _check(deadline: float | None, job: Job) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"job {job.id} is still {job.status} after the wait's timeout")
