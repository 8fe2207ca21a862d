"""The update steps the seed programs use, shared by the variants that use the same one."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch


def manual_cubic_step(b, rows, y, learning_rate: float) -> Callable[[], object]:
    """A step of hand-written gradient descent on b_0 + b_1 x + b_2 x^2 + b_3 x^3; it returns the
    residual y_pred - y, from which squared_sum gives the step's loss.

    Works unchanged on numpy arrays and torch tensors: b is the column (4, 1) of coefficients, updated
    in place, and rows = power_rows(x, 3). Summing the terms down the column and the gradients along
    the rows adds the same numbers in the same order as the seed's one-term-at-a-time program. The
    returned residual is a buffer the next step rewrites: read it before then, as fits.loop.train does.
    """
    xp = torch if isinstance(b, torch.Tensor) else np
    lr = learning_rate
    if xp is torch:
        # torch wraps a Python float in a new tensor at every operation; rounded to b's dtype either way.
        lr = torch.tensor(lr, dtype=b.dtype, device=b.device)
    # The seed's gradient is (2 * residual) * x^k; scaling by 2 is exact, so r * (2 x^k) is the same
    # number and 2 x^k is computed once. Every step writes into the same buffers, allocating nothing.
    twice_rows = 2.0 * rows
    products, gradient = xp.empty_like(rows), xp.empty_like(b)
    fitted, residual = xp.empty_like(y), xp.empty_like(y)
    keep = {"keepdim": True} if xp is torch else {"keepdims": True}

    def step():
        xp.multiply(b, rows, out=products)
        xp.sum(products, 0, out=fitted)
        xp.subtract(fitted, y, out=residual)
        xp.multiply(residual, twice_rows, out=products)
        xp.sum(products, 1, out=gradient, **keep)
        xp.multiply(gradient, lr, out=gradient)
        xp.subtract(b, gradient, out=b)  # in place, as b -= lr * grad
        return residual

    return step


def squared_sum(residual):
    """The seed's loss, (y_pred - y) ** 2 summed, from a step's residual."""
    return (residual ** 2).sum()


def descend(params: Sequence[torch.Tensor], learning_rate: float) -> None:
    """The seed's manual update after backward(): param -= lr * grad under no_grad, then drop the grads."""
    with torch.no_grad():
        # One call for all parameters; each is the seed's own two operations, so the same bits.
        torch._foreach_sub_(params, torch._foreach_mul([p.grad for p in params], learning_rate))
    drop_grads(params)


def drop_grads(params: Sequence[torch.Tensor]) -> None:
    """Set each parameter's grad to None, as zero_grad() does by default."""
    for param in params:
        param.grad = None


def optimizer_step(model: torch.nn.Module, inputs, y: torch.Tensor,
                   optimizer: torch.optim.Optimizer) -> Callable[..., torch.Tensor]:
    """A step for the seed's optimizer programs: MSELoss(sum), zero_grad, backward, optimizer.step;
    its arguments, if any, go to the model after `inputs`."""
    criterion = torch.nn.MSELoss(reduction="sum")
    # optimizer.zero_grad() does just this, but opens a profiler record on every call (~10 us here).
    params = [p for group in optimizer.param_groups for p in group["params"]]

    def step(*args) -> torch.Tensor:
        loss = criterion(model(inputs, *args), y)
        drop_grads(params)
        loss.backward()
        optimizer.step()
        return loss

    return step
