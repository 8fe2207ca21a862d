"""fitq's Python client: submit polynomial-fit jobs, follow them, read their results (docs/client.md)."""
from fitq_client.client import Client
from fitq_client.errors import FitqError, StreamUnavailable
from fitq_client.job import Job
from fitq_client.models import History, JobError, Point, Progress, Result
from fitq_client.sse import Event
from fitq_client.sweep import Sweep

__all__ = ["Client", "Event", "FitqError", "History", "Job", "JobError", "Point", "Progress", "Result",
           "StreamUnavailable", "Sweep"]
