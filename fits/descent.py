"""The update steps the seed programs use, shared by the variants that use the same one."""
from __future__ import annotations

from typing import Callable, Iterable

import torch


def manual_cubic_step(b: list, p: dict, y, learning_rate: float):
    """One step of hand-written gradient descent on b_0 + b_1 x + b_2 x^2 + b_3 x^3; returns the loss.

    Works unchanged on numpy arrays and torch tensors: b is updated in place, p maps k to x ** k.
    """
    y_pred = b[0] + b[1] * p[1] + b[2] * p[2] + b[3] * p[3]
    loss = ((y_pred - y) ** 2).sum()

    grad_y_pred = 2.0 * (y_pred - y)
    grads = (
        grad_y_pred.sum(),
        (grad_y_pred * p[1]).sum(),
        (grad_y_pred * p[2]).sum(),
        (grad_y_pred * p[3]).sum(),
    )
    for i, grad in enumerate(grads):
        b[i] -= learning_rate * grad
    return loss


def descend(params: Iterable[torch.Tensor], learning_rate: float) -> None:
    """The seed's manual update after backward(): param -= lr * grad under no_grad, then drop the grad."""
    with torch.no_grad():
        for param in params:
            param -= learning_rate * param.grad
            param.grad = None


def optimizer_step(model: torch.nn.Module, inputs, y: torch.Tensor,
                   optimizer: torch.optim.Optimizer) -> Callable[[], torch.Tensor]:
    """A step for the seed's optimizer programs: MSELoss(sum), zero_grad, backward, optimizer.step."""
    criterion = torch.nn.MSELoss(reduction="sum")

    def step() -> torch.Tensor:
        loss = criterion(model(inputs), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step
