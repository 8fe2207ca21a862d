"""The `tensor` variant: a cubic fitted by hand-written gradients on torch tensors (no autograd)."""
from __future__ import annotations

import torch

from fits.cuda_graph import replayed
from fits.data import power_rows, sine
from fits.descent import manual_cubic_step, squared_sum
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import normal_scalars


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with b_0 + b_1 x + b_2 x^2 + b_3 x^3 on torch tensors, gradients by hand."""
    data = sine(samples, dtype, device)
    rows = power_rows(data.x, 3)
    b = torch.stack(normal_scalars(seed, 4, data.dtype, data.device)).unsqueeze(1)
    step = replayed(manual_cubic_step(b, rows, data.y, learning_rate), data.device, cuda_graphs)
    # The loss is computed only where it is logged: the update needs the residual alone.
    trace = train(step, steps=steps, log_every=log_every, on_progress=on_progress, deadline=deadline,
                  loss_of=squared_sum)
    return FitResult.power_series(b.ravel(), trace, data.device.type)
