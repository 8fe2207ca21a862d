"""Logging for the API, the worker and the sweeper: text or JSON lines, with the job id when known."""
import contextlib
import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The job a log line is about, for lines that do not name one themselves (extra={"job_id": ...}).
current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("fitq_job_id", default=None)


class JobId(logging.Filter):
    """Gives every record a job_id: its own (from `extra`), else the current job's, else None."""

    def filter(self, record):
        if getattr(record, "job_id", None) is None:
            record.job_id = current_job.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, and job_id and exc when there are any."""

    def format(self, record):
        line = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if getattr(record, "job_id", None):
            line["job_id"] = record.job_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _Handler(logging.StreamHandler):
    """The root handler configure() installs (so a second configure() replaces it); it writes to
    whatever sys.stderr is at the time, as logging's own last-resort handler does."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def formatter(settings) -> logging.Formatter:
    """The formatter LOG_FORMAT asks for."""
    return JsonLines() if settings.log_format == "json" else logging.Formatter(TEXT)


def configure(settings) -> None:
    """Send every logger's lines to stderr at LOG_LEVEL, formatted as LOG_FORMAT says."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler()
    handler.setFormatter(formatter(settings))
    handler.addFilter(JobId())
    root.addHandler(handler)  # other handlers (a test's log capture) stay
    root.setLevel(settings.log_level.upper())


@contextlib.contextmanager
def about(job_id):
    """Within this block, log lines that name no job are about `job_id`."""
    token = current_job.set(job_id)
    try:
        yield
    finally:
        current_job.reset(token)


def gunicorn_logger(cfg):
    """gunicorn's own logger writing JSON lines: `--logger-class service.logs.gunicorn_logger`."""
    from gunicorn.glogging import Logger  # only the API process has use for gunicorn

    class JsonLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)  # also run again on SIGHUP, which rebuilds the handlers
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonLines())
                    handler.addFilter(JobId())

    return JsonLogger(cfg)
