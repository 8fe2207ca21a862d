"""The `optim` variant: the nn.Sequential cubic trained by torch.optim.RMSprop."""
from __future__ import annotations

import torch

from fits import nn_sequential
from fits.cuda_graph import replayed
from fits.data import sine
from fits.descent import optimizer_step
from fits.loop import Progress, train
from fits.result import FitResult


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with the nn.Sequential cubic, MSELoss(sum) and RMSprop."""
    data = sine(samples, dtype, device)
    model, xx = nn_sequential.build(seed, data)
    # foreach: each update is one call for both parameters (the same bits as one at a time).
    # capturable: its step count stays on the GPU, as a CUDA graph needs.
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate, foreach=True,
                                    capturable=data.device.type == "cuda")
    step = optimizer_step(model, xx, data.y, optimizer)
    trace = train(replayed(step, data.device, cuda_graphs), steps=steps, log_every=log_every,
                  on_progress=on_progress, deadline=deadline)
    return FitResult.power_series(nn_sequential.coefficients(model), trace, data.device.type)
