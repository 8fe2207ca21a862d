"""The `dynamic` variant: the tutorial's DynamicNet, whose order (3 to 5) is drawn at every step."""
from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from fits.cuda_graph import replayed
from fits.data import powers, sine
from fits.descent import optimizer_step
from fits.formula import power_series
from fits.loop import Progress, train
from fits.result import FitResult
from fits.seeding import normal_scalars


class DynamicNet(torch.nn.Module):
    """a + b x + c x^2 + d x^3, plus e x^4 and e x^5 (one shared weight) on a random draw per forward."""

    def __init__(self, init: Sequence[torch.Tensor], rng: random.Random):
        super().__init__()
        self.a, self.b, self.c, self.d, self.e = (torch.nn.Parameter(v) for v in init)
        self.rng = rng  # its own stream, never the global `random`: a seed must replay the same orders

    def draw(self) -> int:
        """The tutorial's draw of `stop`: 4 keeps the cubic, 5 adds x^4, 6 adds x^4 and x^5."""
        return self.rng.randint(4, 6)

    def forward(self, p: dict, stop: int | None = None) -> torch.Tensor:
        """The output for a `stop` drawn by the caller, or here when it draws none."""
        # A caller that draws first knows the order before the step runs: a CUDA graph per order.
        return self.predict(p, self.draw() if stop is None else stop)

    def predict(self, p: dict, stop: int) -> torch.Tensor:
        """The output with the terms e x^k for 4 <= k < stop; p maps k to x ** k."""
        y = self.a + self.b * p[1] + self.c * p[2] + self.d * p[3]
        for exp in range(4, stop):
            y = y + self.e * p[exp]
        return y


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with DynamicNet, MSELoss(sum) and SGD with momentum 0.9."""
    data = sine(samples, dtype, device)
    model = DynamicNet(normal_scalars(seed, 5, data.dtype, data.device), random.Random(seed))
    # foreach: one update call for the five parameters (the same bits as one at a time).
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9, foreach=True)
    step = replayed(optimizer_step(model, powers(data.x, 5), data.y, optimizer), data.device, cuda_graphs)
    trace = train(lambda: step(model.draw()), steps=steps, log_every=log_every,
                  on_progress=on_progress, deadline=deadline)
    values = [v.item() for v in model.parameters()]
    return FitResult.of(values, expected_polynomial(values), formula(values), trace, data.device.type)


def expected_polynomial(values: Sequence[float]) -> list[float]:
    """The prediction averaged over the random order: x^4 is drawn 2/3 of the time, x^5 1/3."""
    a, b, c, d, e = values
    return [a, b, c, d, 2 * e / 3, e / 3]


def formula(values: Sequence[float]) -> str:
    """The model with its numbers, saying which terms are random."""
    a, b, c, d, e = values
    sign, size = ("-" if e < 0 else "+"), repr(abs(e))
    return (f"y = {power_series([a, b, c, d])} [{sign} {size} x^4 [{sign} {size} x^5]],"
            " the bracketed terms drawn each step: x^4 with p 2/3, x^5 with p 1/3")
