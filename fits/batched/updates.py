"""The per-job pieces of a batched step: rates, targets, the updates, and the losses of a history point."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch

from fits.data import Sample


class Stepper(NamedTuple):
    """One chunk of jobs being trained: its step, a view of its parameters, and `keep(rows)`: a new
    Stepper of those rows alone, as they are now, so that a pass stops paying for the rest."""

    step: Callable[[bool], object]
    values: Callable[[], object]
    keep: Callable[[list[int]], Stepper]


def learning_rates(jobs: Sequence[Mapping], data: Sample) -> torch.Tensor:
    """(B, 1) learning rates in the data's dtype: a Python float meets a tensor in its dtype."""
    return torch.tensor([[job["learning_rate"]] for job in jobs], dtype=data.dtype, device=data.device)


def shared_rate(jobs: Sequence[Mapping]) -> float:
    """The one learning rate of an optimizer's param group, which the batch key made common."""
    (rate,) = {job["learning_rate"] for job in jobs}
    return rate


def targets(count: int, data: Sample) -> torch.Tensor:
    """(B, N): y for each of `count` jobs, as a broadcast view: MSELoss reads it 1.3x faster than a
    (B, N) copy."""
    return data.y.expand(count, -1)


def descent(params, rates: torch.Tensor) -> Callable[[], None]:
    """The update of a step: param -= lr * grad per job (rates is (B, 1), row j job j's), then the grad
    dropped. Made once per chunk, over plain tensors on the parameters' memory, so that a step runs no
    no_grad block and no autograd bookkeeping of in-place ops on leaves (8% of a small chunk's
    custom_function step; the same numbers)."""
    updates = [(param, param.detach(), rates.view(-1, *[1] * (param.dim() - 1))) for param in params]

    def update():
        for param, values, rate in updates:
            grad, param.grad = param.grad, None
            values.sub_(rate * grad)

    return update


def squared_sum(residual: torch.Tensor) -> torch.Tensor:
    """Every job's (y_pred - y) ** 2 summed, as one dot product: the jobs share no parameter, so each
    job's parameters get exactly the gradient of its own loss. Its backward gives 2 (y_pred - y), the
    bits pow(2).sum()'s gives, in two passes over (B, N) where that takes four, and writes no squares."""
    flat = residual.reshape(-1)
    return torch.dot(flat, flat)


def job_losses(y_pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,): each job's MSELoss(reduction="sum"), the bits of its solo loss (a row sum of a (B, N)
    tensor is the solo sum of N values, on one thread)."""
    return torch.nn.functional.mse_loss(y_pred.detach(), target, reduction="none").sum(1)


def no_loss(like: torch.Tensor) -> torch.Tensor:
    """What a step returns where no loss is logged: an empty tensor, as fits.cuda_graph needs one."""
    return like.new_empty(0)


def optimizer_step(model, inputs, target, optimizer) -> Callable[[bool], torch.Tensor]:
    """The optimizer programs' step for every job at once: MSELoss(reduction="sum") over all of them
    (the jobs share no parameter, so each gets its own loss's gradient), backward, optimizer.step."""
    criterion = torch.nn.MSELoss(reduction="sum")
    # optimizer.zero_grad() does just this, but opens a profiler record on every call.
    params = [p for group in optimizer.param_groups for p in group["params"]]

    def step(want_loss):
        y_pred = model(inputs)
        loss = criterion(y_pred, target)
        for param in params:
            param.grad = None
        loss.backward()
        optimizer.step()
        return job_losses(y_pred, target) if want_loss else no_loss(y_pred)

    return step


def kept_optimizer(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor],
                   rows: list[int]) -> torch.optim.Optimizer:
    """A new optimizer of optimizer's kind and settings over `params`, which are the rows `rows` of its
    own (in order), with its state as it is now: a per-element tensor (RMSprop's square_avg) cut to
    those rows in its parameter's layout, anything else (the step count) copied."""
    old = [p for group in optimizer.param_groups for p in group["params"]]
    saved = optimizer.state_dict()
    state = {i: {name: _cut(value, old[i], params[i], rows) for name, value in entries.items()}
             for i, entries in saved["state"].items()}
    kept = type(optimizer)(params, **optimizer.defaults)
    kept.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    return kept


def _cut(value, old: torch.Tensor, new: torch.Tensor, rows: list[int]):
    if not isinstance(value, torch.Tensor):
        return value
    if value.shape != old.shape:
        return value.clone()  # load_state_dict would share it with the old optimizer
    return torch.empty_like(new).copy_(value[rows])  # laid out as new is, as zeros_like(param) makes it
