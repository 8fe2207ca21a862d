"""The `tensor` variant: a cubic fitted by hand-written gradients on torch tensors (no autograd)."""
from __future__ import annotations

from fits.data import powers, sine
from fits.descent import manual_cubic_step
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import normal_scalars


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None,
        deadline: float | None = None) -> FitResult:
    """Fit y = sin(x) with b_0 + b_1 x + b_2 x^2 + b_3 x^3 on torch tensors, gradients by hand."""
    data = sine(samples, dtype, device)
    p = powers(data.x, 3)
    b = normal_scalars(seed, 4, data.dtype, data.device)
    trace = train(lambda: manual_cubic_step(b, p, data.y, learning_rate),
                  steps=steps, log_every=log_every, on_progress=on_progress,
                  deadline=deadline)
    return FitResult.power_series(b, trace, data.device.type)
