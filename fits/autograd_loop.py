"""The `autograd` variant: a cubic whose gradients come from loss.backward()."""
from __future__ import annotations

import torch

from fits.cuda_graph import replayed
from fits.data import power_rows, sine
from fits.descent import descend
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import normal_scalars


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with a cubic: autograd computes the gradients, the update is done by hand."""
    data = sine(samples, dtype, device)
    rows = power_rows(data.x, 3)
    # b_0..b_3 as one column leaf: one product and one sum make the cubic, and backward() reduces
    # the four gradients in one sum along the rows (the seed's numbers: see power_rows).
    b = torch.stack(normal_scalars(seed, 4, data.dtype, data.device)).unsqueeze(1).requires_grad_()

    def step():
        y_pred = (b * rows).sum(0)
        loss = (y_pred - data.y).pow(2).sum()
        loss.backward()
        descend([b], learning_rate)
        return loss

    trace = train(replayed(step, data.device, cuda_graphs), steps=steps, log_every=log_every,
                  on_progress=on_progress, deadline=deadline)
    return FitResult.power_series(b.detach().ravel(), trace, data.device.type)
