"""The `nn` variant: a cubic as nn.Sequential(Linear(3, 1), Flatten(0, 1)) on (x, x^2, x^3)."""
from __future__ import annotations

import torch

from fits.cuda_graph import replayed
from fits.data import Sample, sine
from fits.descent import descend
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import global_seed


def build(seed: int, data: Sample) -> tuple[torch.nn.Sequential, torch.Tensor]:
    """The seed's model, with torch's default init repeatable by seed, and its input (x, x^2, x^3)."""
    # nn.Linear draws its init from the global generator; seed it without disturbing it.
    with global_seed(seed):
        model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    p = torch.tensor([1, 2, 3], device=data.device)
    return model.to(device=data.device, dtype=data.dtype), data.x.unsqueeze(-1).pow(p)


def coefficients(model: torch.nn.Sequential) -> list[float]:
    """[bias, weight for x, weight for x^2, weight for x^3] of the Linear layer."""
    linear = model[0]
    return [linear.bias.item()] + linear.weight[0].tolist()


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with the nn.Sequential cubic, MSELoss(sum) and a manual SGD update."""
    data = sine(samples, dtype, device)
    model, xx = build(seed, data)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    params = list(model.parameters())

    def step():
        loss = loss_fn(model(xx), data.y)
        loss.backward()  # grads are None here: descend() drops them, as model.zero_grad() would
        descend(params, learning_rate)
        return loss

    trace = train(replayed(step, data.device, cuda_graphs), steps=steps, log_every=log_every,
                  on_progress=on_progress, deadline=deadline)
    return FitResult.power_series(coefficients(model), trace, data.device.type)
