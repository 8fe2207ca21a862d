"""The shared training loop: runs a variant's step, keeps the loss history and the wall time."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fits.errors import FitTimeout

Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class Trace:
    """What a training loop leaves behind: its history points, its last loss and its wall time."""

    history: list[tuple[int, float]]
    final_loss: float
    duration_s: float


def train(step: Callable[[], Any], *, steps: int, log_every: int,
          on_progress: Progress | None = None, deadline: float | None = None,
          loss_of: Callable[[Any], Any] | None = None) -> Trace:
    """Call step() `steps` times; step returns the loss it computed before its update, or what
    loss_of(returned) turns into it (computed only where it is logged). Stops early at a history
    point whose loss is NaN or infinite; raises FitTimeout past `deadline`."""
    measure = loss_of or (lambda loss: loss)
    history: list[tuple[int, float]] = []
    loss: Any = None
    in_callback = 0.0
    start = time.perf_counter()
    for t in range(steps):
        # Checked by the loop itself, so the budget holds in any pool; a clock read is ~50 ns.
        if deadline is not None and time.monotonic() > deadline:
            raise FitTimeout(t, steps)
        loss = step()
        if (t + 1) % log_every == 0:
            # Read the loss only here: a host sync every step would dominate on a GPU.
            value = scalar(measure(loss))
            history.append((t, value))
            if not math.isfinite(value):
                break  # diverged: once NaN or infinite it never comes back, so stop paying for it
            if on_progress is not None:
                called = time.perf_counter()
                on_progress(t + 1, steps, value)  # may raise to stop the fit: let it propagate
                in_callback += time.perf_counter() - called
    final_loss = math.nan if loss is None else scalar(measure(loss))
    # The callback's time (database writes, heartbeats) is the caller's, not the loop's.
    return Trace(history, final_loss, time.perf_counter() - start - in_callback)


def scalar(value: Any) -> float:
    """A Python float from a float, a numpy scalar or a one-element tensor (grad or not)."""
    return float(value.item()) if hasattr(value, "item") else float(value)
