"""The `custom_function` variant: y = b0 + b1 * P3(b2 + b3 x) through a custom autograd Function."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from fits.cuda_graph import replayed
from fits.data import sine
from fits.descent import descend
from fits.formula import signed_columns, signed_sum
from fits.loop import Progress, train
from fits.result import FitResult

# The seed's fixed start: the tutorial notes it must be near the answer for this model to converge.
INIT = (0.0, -1.0, 0.0, 0.3)


class LegendrePolynomial3(torch.autograd.Function):
    """The Legendre polynomial P3(u) = (5u^3 - 3u) / 2 with its derivative written by hand."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        # The seed's 0.5 * (5 * input ** 3 - 3 * input): its operations in its order, in place, so the
        # same bits in two buffers where the expression makes five. A batch's (B, N) temporaries
        # leave the cache: 10-14% of its pass (docs/benchmarks.md).
        out = input ** 3
        out.mul_(5).sub_(3 * input)
        return out.mul_(0.5)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        # grad_output * 1.5 * (5 * input ** 2 - 1), in place as in forward.
        slope = input ** 2
        slope.mul_(5).sub_(1)
        return (grad_output * 1.5).mul_(slope)


def fit(*, learning_rate: float, steps: int, samples: int, seed: int, dtype: str, device: str,
        log_every: int, on_progress: Progress | None = None, deadline: float | None = None,
        cuda_graphs: bool = True) -> FitResult:
    """Fit y = sin(x) with b0 + b1 * P3(b2 + b3 x); seed is unused, the start is fixed."""
    data = sine(samples, dtype, device)
    b = [torch.full((), v, device=data.device, dtype=data.dtype, requires_grad=True) for v in INIT]
    P3 = LegendrePolynomial3.apply

    def step():
        y_pred = b[0] + b[1] * P3(b[2] + b[3] * data.x)
        loss = (y_pred - data.y).pow(2).sum()
        loss.backward()
        descend(b, learning_rate)
        return loss

    trace = train(replayed(step, data.device, cuda_graphs), steps=steps, log_every=log_every,
                  on_progress=on_progress, deadline=deadline)
    values = [v.item() for v in b]
    return FitResult.of(values, power_basis(values), formula(values), trace, data.device.type)


def power_basis(b: Sequence[float]) -> list[float]:
    """Expand b0 + b1 * (5u^3 - 3u) / 2 with u = b2 + b3 x into [c0, c1, c2, c3]."""
    b0, b1, b2, b3 = b
    half = 0.5 * b1
    return [
        b0 + half * (5 * b2 ** 3 - 3 * b2),
        half * (15 * b2 ** 2 * b3 - 3 * b3),
        half * 15 * b2 * b3 ** 2,
        half * 5 * b3 ** 3,
    ]


def formula(b: Sequence[float]) -> str:
    """'y = b0 + b1 * P3(b2 + b3 x)' with the numbers, and what P3 is."""
    b0, b1, b2, b3 = b
    return (f"y = {signed_sum([(b0, ''), (b1, '* P3(')])}{signed_sum([(b2, ''), (b3, 'x')])}),"
            " P3(u) = (5u^3 - 3u) / 2")


def formulas(rows: Sequence[Sequence[float]]) -> list[str]:
    """formula of each row of four Python floats: the same text, built a column at a time."""
    if not rows:
        return []
    fill = "y = {} {} {} * P3({} {} {} x), P3(u) = (5u^3 - 3u) / 2".format
    return list(map(fill, *signed_columns([row[:2] for row in rows]), *signed_columns([row[2:] for row in rows])))
