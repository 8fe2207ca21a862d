"""Typed views of what the API answers: points, progress, results, errors and jobs' documents."""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FINISHED = frozenset({"succeeded", "failed", "diverged", "cancelled", "pruned"})


@dataclass(frozen=True)
class Point:
    """One point of a loss history: the loss computed before update `step`; None where not finite."""

    step: int
    loss: float | None


@dataclass(frozen=True)
class Progress:
    """How far a job has got: `step` of `steps`, with the latest loss when the stream carried one."""

    step: int
    steps: int
    loss: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class Result:
    """A finished fit: its coefficients, the same polynomial in the power basis, and its loss."""

    coefficients: dict[str, float | None]
    polynomial: list[float | None]
    formula: str
    final_loss: float | None
    loss_history: list[Point]
    duration_s: float
    device: str | None = None
    optimum_loss: float | None = None
    excess_loss: float | None = None
    relative_excess_loss: float | None = None  # excess_loss / optimum_loss: what a search ranks by

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> "Result":
        """The result of a job document's `result` object."""
        return cls(coefficients=dict(document["coefficients"]), polynomial=list(document["polynomial"]),
                   formula=document["formula"], final_loss=document["final_loss"],
                   loss_history=[Point(p["step"], p["loss"]) for p in document["loss_history"]],
                   duration_s=document["duration_s"], device=document.get("device"),
                   optimum_loss=document.get("optimum_loss"), excess_loss=document.get("excess_loss"),
                   relative_excess_loss=document.get("relative_excess_loss"))


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the exception's type and message."""

    type: str
    message: str


class History(list[Point]):
    """A job's loss history: a list of Points, and a DataFrame when pandas is installed."""

    def __init__(self, points: list[Point], job_id: str = "", downsampled: bool = False):
        super().__init__(points)
        self.job_id, self.downsampled = job_id, downsampled

    def to_dataframe(self) -> Any:
        """The points as a pandas DataFrame (columns step and loss); pandas is not a dependency."""
        try:
            import pandas
        except ImportError:
            raise ImportError("History.to_dataframe needs pandas: pip install pandas") from None
        return pandas.DataFrame({"step": [p.step for p in self], "loss": [p.loss for p in self]})
