"""The `module` variant: a cubic as a custom nn.Module trained by torch.optim.SGD."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from fits.cuda_graph import replayed
from fits.data import powers, sine
from fits.descent import optimizer_step
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import normal_scalars


class Polynomial3(torch.nn.Module):
    """y = b_0 + b_1 x + b_2 x^2 + b_3 x^3 with four scalar parameters."""

    def __init__(self, init: Sequence[torch.Tensor]):
        super().__init__()
        self.b_0, self.b_1, self.b_2, self.b_3 = (torch.nn.Parameter(v) for v in init)

    def forward(self, p: dict) -> torch.Tensor:
        # p maps k to x ** k, computed once per fit instead of every step (the same values).
        return self.b_0 + self.b_1 * p[1] + self.b_2 * p[2] + self.b_3 * p[3]


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with the Polynomial3 module, MSELoss(sum) and SGD."""
    data = sine(samples, dtype, device)
    model = Polynomial3(normal_scalars(seed, 4, data.dtype, data.device))
    # foreach: one update call for the four parameters (the same bits as one at a time).
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, foreach=True)
    step = optimizer_step(model, powers(data.x, 3), data.y, optimizer)
    trace = train(replayed(step, data.device, cuda_graphs), steps=steps, log_every=log_every,
                  on_progress=on_progress, deadline=deadline)
    return FitResult.power_series(model.parameters(), trace, data.device.type)
