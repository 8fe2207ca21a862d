"""The `autograd` variant: a cubic whose gradients come from loss.backward()."""
from __future__ import annotations

from fits.data import powers, sine
from fits.descent import descend
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import normal_scalars


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None,
        deadline: float | None = None) -> FitResult:
    """Fit y = sin(x) with a cubic: autograd computes the gradients, the update is done by hand."""
    data = sine(samples, dtype, device)
    p = powers(data.x, 3)
    b = [v.requires_grad_() for v in normal_scalars(seed, 4, data.dtype, data.device)]

    def step():
        y_pred = b[0] + b[1] * p[1] + b[2] * p[2] + b[3] * p[3]
        loss = (y_pred - data.y).pow(2).sum()
        loss.backward()
        descend(b, learning_rate)
        return loss

    trace = train(step, steps=steps, log_every=log_every, on_progress=on_progress,
                  deadline=deadline)
    return FitResult.power_series(b, trace, data.device.type)
