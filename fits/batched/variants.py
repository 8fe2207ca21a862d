"""Each batchable variant's step over B jobs at once; row j of every (B, ...) tensor is job j.

A builder takes the jobs' params and the shared data and returns a Stepper: `step(want_loss)` runs one
update for every job and returns the (B,) losses computed before it (when not asked, it may skip them
and return a placeholder), `values()` the (B, k) parameters in the order FitResult lists them. Nothing
here loops over jobs inside a step. The cubic's features 1, x, x^2, x^3 are the rows of a (4, N) design
matrix `P`, so the seeds' `b_0 + b_1 x + b_2 x^2 + b_3 x^3` for every job is `b @ P` and their hand-written
`grad_b_k = sum(grad_y_pred * x^k)` is `grad_y_pred @ P.T`: one matrix product each, which is what
makes a batch fast on a CPU and scale with B on a GPU. Matrix products sum in another order than the
solo loop's `.sum()`, so those variants agree with their solo runs to rounding, not bit for bit. On a
GPU each chunk's step is captured once in a CUDA graph and replayed (fits.cuda_graph, as the solo
loops do), so a step is one launch whatever B is.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from fits.batched.models import Polynomial3Batch, random_cubics, sequential_layer, sequential_values
from fits.batched.updates import (
    Stepper,
    always_logged,
    backward_all,
    descend,
    learning_rates,
    optimizer_step,
    shared_rate,
    targets,
)
from fits.cuda_graph import replayed
from fits.data import Sample, check_dtype, power_rows
from fits.legendre import INIT, LegendrePolynomial3


def numpy_data(samples: int, dtype: str):
    """x, y and the design matrix for the numpy variant, made as numpy_manual makes them."""
    kind = np.dtype(check_dtype(dtype))
    x = np.linspace(-math.pi, math.pi, samples, dtype=kind)
    return x, np.sin(x), power_rows(x, 3)


def numpy_cubics(jobs: Sequence[Mapping], data) -> Stepper:
    """`numpy`: the hand-written forward and backward in numpy, on a (B, 4) array of cubics."""
    x, y, design = data
    kind = x.dtype
    # Each job's own stream, drawn as numpy_manual draws it; rates in the dtype a Python float meets.
    b = np.array([np.random.RandomState(job["seed"]).randn(4) for job in jobs]).astype(kind)
    rates = np.array([[job["learning_rate"]] for job in jobs], dtype=kind)

    def step(want_loss):
        # A diverging job is reported through its NaN/inf losses, not as overflow warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            residual = b @ design - y  # y_pred - y for every job
            loss = np.square(residual).sum(axis=1) if want_loss else None
            grad_y_pred = 2.0 * residual
            b[...] -= rates * (grad_y_pred @ design.T)  # grad_b_k = sum(grad_y_pred * x^k)
        return loss

    return Stepper(step, lambda: b)


def tensor_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`tensor`: the same hand-written gradients on torch tensors, no autograd."""
    design = power_rows(data.x, 3)
    b, rates = random_cubics(jobs, data), learning_rates(jobs, data)
    minus_y = -data.y

    def step(want_loss):
        residual = torch.addmm(minus_y, b, design)  # b @ P - y: y_pred - y in one product
        loss = residual.pow(2).sum(1) if want_loss else residual.new_empty(0)  # a tensor for replayed()
        # grad_y_pred = 2 (y_pred - y); the factor 2 is exact, so it is applied to the (B, 4) sums.
        b.sub_(rates * (2.0 * (residual @ design.T)))
        return loss

    return Stepper(replayed(step, data.device), lambda: b)


def autograd_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`autograd`: loss.backward() gives each job its gradient; the update is done by hand."""
    design = power_rows(data.x, 3)
    b, rates = random_cubics(jobs, data).requires_grad_(), learning_rates(jobs, data)

    def step():
        squares = (b @ design - data.y).pow(2)
        backward_all(squares)
        descend([b], rates)
        return squares.detach().sum(1)

    return always_logged(step, data, lambda: b.detach())


def legendre_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`custom_function`: y = b0 + b1 * P3(b2 + b3 x) through LegendrePolynomial3 on (B, N) inputs."""
    b = [torch.full((len(jobs), 1), v, dtype=data.dtype, device=data.device, requires_grad=True)
         for v in INIT]
    rates = learning_rates(jobs, data)
    P3 = LegendrePolynomial3.apply

    def step():
        # Elementwise and row sums only: each row does exactly what the solo loop does.
        y_pred = b[0] + b[1] * P3(b[2] + b[3] * data.x)
        squares = (y_pred - data.y).pow(2)
        backward_all(squares)
        descend(b, rates)
        return squares.detach().sum(1)

    return always_logged(step, data, lambda: torch.cat(b, 1).detach())


def module_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`module`: Polynomial3Batch, MSELoss per job and one torch.optim.SGD (the jobs share its lr)."""
    model = Polynomial3Batch(random_cubics(jobs, data))
    optimizer = torch.optim.SGD(model.parameters(), lr=shared_rate(jobs), foreach=True)
    step = optimizer_step(model, power_rows(data.x, 3), targets(jobs, data), optimizer)
    return always_logged(step, data, lambda: torch.stack(list(model.parameters()), 1).detach())


def sequential_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`nn`: LinearRows, MSELoss per job and the hand-written update with each job's lr."""
    layer, rows = sequential_layer(jobs, data)
    rates, target = learning_rates(jobs, data), targets(jobs, data)
    loss_fn = torch.nn.MSELoss(reduction="none")

    def step():
        squares = loss_fn(layer(rows), target)
        backward_all(squares)
        descend(layer.parameters(), rates)
        return squares.detach().sum(1)

    return always_logged(step, data, sequential_values(layer))


def rmsprop_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`optim`: LinearRows trained by one torch.optim.RMSprop, whose state is per element."""
    layer, rows = sequential_layer(jobs, data)
    # capturable: the step count stays on the GPU, as a CUDA graph needs (RMSprop's math ignores it).
    optimizer = torch.optim.RMSprop(layer.parameters(), lr=shared_rate(jobs), foreach=True,
                                    capturable=data.device.type == "cuda")
    return always_logged(optimizer_step(layer, rows, targets(jobs, data), optimizer), data,
                         sequential_values(layer))
