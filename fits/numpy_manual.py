"""The `numpy` variant: a cubic fitted by hand-written gradients in numpy."""
from __future__ import annotations

import math

import numpy as np

from fits.data import check_dtype, power_rows
from fits.descent import manual_cubic_step, squared_sum
from fits.device import numpy_device
from fits.loop import Progress, train
from fits.result import FitResult


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None,
        deadline: float | None = None) -> FitResult:
    """Fit y = sin(x) with b_0 + b_1 x + b_2 x^2 + b_3 x^3, gradients written out by hand in numpy."""
    where = numpy_device(device)
    kind = np.dtype(check_dtype(dtype))
    x = np.linspace(-math.pi, math.pi, samples, dtype=kind)
    y = np.sin(x)
    rows = power_rows(x, 3)
    draws = np.random.RandomState(seed)  # its own stream: the global numpy state stays untouched
    b = np.array([[draws.randn()] for _ in range(4)], dtype=kind)

    # A diverging fit is reported through its NaN/inf losses, not as overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        # The loss is computed only where it is logged: the update needs the residual alone.
        trace = train(manual_cubic_step(b, rows, y, learning_rate), steps=steps, log_every=log_every,
                      on_progress=on_progress, deadline=deadline, loss_of=squared_sum)
    return FitResult.power_series(b.ravel(), trace, where)
