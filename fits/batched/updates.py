"""The per-job pieces of a batched step: rates, targets, the update, and the step's wrapper."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch

from fits.cuda_graph import replayed
from fits.data import Sample


class Stepper(NamedTuple):
    """One chunk of jobs being trained: its step and a view of its parameters."""

    step: Callable[[bool], object]
    values: Callable[[], object]


def learning_rates(jobs: Sequence[Mapping], data: Sample) -> torch.Tensor:
    """(B, 1) learning rates in the data's dtype: a Python float meets a tensor in its dtype."""
    return torch.tensor([[job["learning_rate"]] for job in jobs], dtype=data.dtype, device=data.device)


def shared_rate(jobs: Sequence[Mapping]) -> float:
    """The one learning rate of an optimizer's param group, which the batch key made common."""
    (rate,) = {job["learning_rate"] for job in jobs}
    return rate


def targets(jobs: Sequence[Mapping], data: Sample) -> torch.Tensor:
    """(B, N): y for every job, materialised: MSELoss on a broadcast target takes a slow path."""
    return data.y.expand(len(jobs), -1).contiguous()


def descend(params, rates: torch.Tensor) -> None:
    """param -= lr * grad per job (rates is (B, 1), row j job j's), then drop the grad."""
    with torch.no_grad():
        for param in params:
            param -= rates.view(-1, *[1] * (param.dim() - 1)) * param.grad
            param.grad = None


def backward_all(squares: torch.Tensor) -> None:
    """backward() from the sum of every job's squared errors: the jobs share no parameter, so each
    job's parameters get exactly the gradient of its own loss. (Summing all at once, rather than the
    (B,) losses, makes the gradient flowing back a scalar, not a broadcast row: 1.5x faster.)"""
    squares.sum().backward()


def always_logged(step: Callable[[], torch.Tensor], data: Sample, values) -> Stepper:
    """A Stepper for a step that computes its loss anyway (backward needs it): one CUDA graph, not two."""
    graphed = replayed(step, data.device)
    return Stepper(lambda _: graphed(), values)


def optimizer_step(model, inputs, target, optimizer) -> Callable[[], torch.Tensor]:
    """The optimizer programs' step, per job: MSELoss summed along each row, zero_grad, backward, step."""
    criterion = torch.nn.MSELoss(reduction="none")

    def step():
        squares = criterion(model(inputs), target)
        optimizer.zero_grad()
        backward_all(squares)
        optimizer.step()
        return squares.detach().sum(1)

    return step
