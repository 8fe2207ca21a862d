"""Each batchable variant's step over B jobs at once; job j is row j (or column j) of every tensor.

A builder takes the jobs' params and the shared data and returns a Stepper: `step(want_loss)` runs one
update for every job and returns the (B,) losses computed before it (when not asked, it skips them and
returns an empty placeholder), `values()` the (B, k) parameters in the order FitResult lists them.
Nothing here loops over jobs inside a step. The cubic's features 1, x, x^2, x^3 are the rows of a
(4, N) design matrix `P`, so the seeds' `b_0 + b_1 x + b_2 x^2 + b_3 x^3` for every job is `b @ P`
and their hand-written `grad_b_k = sum(grad_y_pred * x^k)` is `P @ grad_y_pred.T`: one matrix product
each, which is what makes a batch fast on a CPU and scale with B on a GPU. Matrix products sum in
another order than the solo loop's `.sum()`, so those variants agree with their solo runs to rounding,
not bit for bit. On a GPU each chunk's step is captured in a CUDA graph (one with its losses, one
without) and replayed (fits.cuda_graph, as the solo loops do), so a step is one launch whatever B is.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from fits.batched.models import Polynomial3Batch, random_cubics, sequential_layer
from fits.batched.updates import (
    Stepper,
    descent,
    job_losses,
    kept_optimizer,
    learning_rates,
    no_loss,
    optimizer_step,
    shared_rate,
    squared_sum,
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
    """`numpy`: the hand-written forward and backward in numpy, on a (5, B) array of cubics."""
    x, y, design = data
    kind = x.dtype
    draws = numpy_draws(jobs).astype(kind)
    columns = np.vstack([draws.T, -np.ones((1, len(jobs)), dtype=kind)])
    # Rates in the dtype a Python float meets; grad_y_pred = 2 (y_pred - y), and the 2 is exact.
    twice_rates = 2.0 * np.array([job["learning_rate"] for job in jobs], dtype=kind)
    return _numpy_stepper(columns, fold(design, y, np.vstack), design, twice_rates)


def _numpy_stepper(columns, folded, design, twice_rates) -> Stepper:
    # As for tensor, a job's whole state is its column; the arrays a step writes into are the chunk's own.
    cubic = columns[:4]
    # Every step writes into the same two arrays: allocating them anew costs more than the products.
    residual, gradient = np.empty((columns.shape[1], folded.shape[1]), dtype=columns.dtype), np.empty_like(cubic)

    def step(want_loss):
        # A diverging job is reported through its NaN/inf losses, not as overflow warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            np.matmul(columns.T, folded, out=residual)  # y_pred - y for every job
            loss = np.square(residual).sum(axis=1) if want_loss else None
            np.matmul(design, residual.T, out=gradient)  # grad_b_k / 2 = sum((y_pred - y) * x^k)
            np.subtract(cubic, np.multiply(gradient, twice_rates, out=gradient), out=cubic)
        return loss

    def keep(rows):
        return _numpy_stepper(columns[:, rows], folded, design, twice_rates[rows])  # copies, C order

    return Stepper(step, lambda: cubic.T, keep)


def numpy_draws(jobs: Sequence[Mapping]) -> np.ndarray:
    """(B, 4): row j is what numpy_manual draws for seed_j, its own RandomState(seed_j) stream."""
    # One RandomState reseeded per job: the same numbers as a new one per job, 40x faster (a new
    # RandomState costs about 0.1 ms, a tenth of a second for 1000 jobs).
    stream, rows = np.random.RandomState(), []
    for job in jobs:
        stream.seed(job["seed"])
        rows.append(stream.randn(4))
    return np.array(rows)


def fold(design, y, stack):
    """The (5, N) design with y as a fifth row: with -1 as each job's fifth coefficient, one product
    gives y_pred - y, the same bits as subtracting y after it (the product's last multiply-add, by -1,
    is that subtraction rounded once) and one pass over the (B, N) residual fewer.

    Jobs are columns, (4 or 5, B), so that the gradient is design @ residual.T: of the two layouts of
    that skinny product the faster one (3x faster than residual @ design.T here, MKL and OpenBLAS).
    """
    return stack([design, y[None]])


def tensor_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`tensor`: the same hand-written gradients on torch tensors, no autograd."""
    design = power_rows(data.x, 3)
    minus_ones = -torch.ones(1, len(jobs), dtype=data.dtype, device=data.device)
    columns, folded = torch.cat([random_cubics(jobs, data).T, minus_ones]), fold(design, data.y, torch.cat)
    twice_rates = 2.0 * learning_rates(jobs, data).T  # grad_y_pred = 2 (y_pred - y): the 2 is exact
    return _tensor_stepper(columns, folded, design, twice_rates, data.device)


def _tensor_stepper(columns, folded, design, twice_rates, device) -> Stepper:
    # A job's whole state is its column (no optimizer state): keeping some jobs is keeping their columns.
    cubic = columns[:4]

    def step(want_loss):
        residual = torch.mm(columns.T, folded)  # y_pred - y for every job
        loss = residual.pow(2).sum(1) if want_loss else no_loss(residual)
        cubic.sub_(twice_rates * (design @ residual.T))  # grad_b_k = sum(grad_y_pred * x^k)
        return loss

    def keep(rows):
        return _tensor_stepper(columns[:, rows].contiguous(), folded, design,
                               twice_rates[:, rows].contiguous(), device)

    return Stepper(replayed(step, device), lambda: cubic.T, keep)


def autograd_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`autograd`: loss.backward() gives each job its gradient; the update is done by hand."""
    design = power_rows(data.x, 3)
    minus_ones = -torch.ones(1, len(jobs), dtype=data.dtype, device=data.device)
    # b_0..b_3 and the -1 that folds y in, job j in row j of one (B, 5) leaf (see fold); the -1 gets a
    # gradient too, in the same product, and is never updated. The leaf is stored column-major (the
    # transpose of a (5, B) array), so autograd computes its gradient as folded @ grad.T, the fast
    # layout, with no transpose in the graph.
    leaf = torch.cat([random_cubics(jobs, data).T, minus_ones]).T.detach().requires_grad_()
    return _autograd_stepper(leaf, fold(design, data.y, torch.cat), learning_rates(jobs, data), data.device)


def _autograd_stepper(leaf, folded, rates, device) -> Stepper:
    # b_0..b_3 of every job, as a plain tensor on the leaf's memory: the update is then one in-place
    # op outside autograd, with no no_grad block and no view of the leaf made each step (a quarter of
    # a small chunk's step; the same numbers).
    head = leaf.detach()[:, :4]

    def step(want_loss):
        residual = leaf @ folded  # y_pred - y
        squared_sum(residual).backward()
        grad, leaf.grad = leaf.grad, None
        head.sub_(rates * grad[:, :4])
        return residual.detach().pow(2).sum(1) if want_loss else no_loss(residual)

    def keep(rows):
        # A new leaf of the kept rows (the -1 with them), column-major again: the step's graph starts from it.
        kept = leaf.detach()[rows].T.contiguous().T
        return _autograd_stepper(kept.requires_grad_(), folded, rates[rows].contiguous(), device)

    return Stepper(replayed(step, device), lambda: head, keep)


def legendre_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`custom_function`: y = b0 + b1 * P3(b2 + b3 x) through LegendrePolynomial3 on (B, N) inputs."""
    b = [torch.full((len(jobs), 1), v, dtype=data.dtype, device=data.device, requires_grad=True)
         for v in INIT]
    return _legendre_stepper(b, learning_rates(jobs, data), data)


def _legendre_stepper(b, rates, data) -> Stepper:
    P3 = LegendrePolynomial3.apply
    update = descent(b, rates)
    target = targets(len(rates), data)
    loss_fn = torch.nn.MSELoss(reduction="sum")  # over every job: each gets its own loss's gradient

    def step(want_loss):
        # Elementwise and row sums only: each row does exactly what the solo loop does, in its order.
        # The sums write into the products' buffers (no saved tensor is changed), and MSELoss's backward
        # gives 2 (y_pred - y) in one pass, the bits of the solo loop's pow(2).sum(): two (B, N)
        # temporaries and three passes fewer, 10-12% of a step (docs/benchmarks.md), the same numbers.
        u = (b[3] * data.x).add_(b[2])
        y_pred = (b[1] * P3(u)).add_(b[0])
        loss_fn(y_pred, target).backward()
        update()
        return job_losses(y_pred, target) if want_loss else no_loss(y_pred)

    def keep(rows):
        return _legendre_stepper([leaf.detach()[rows].requires_grad_() for leaf in b], rates[rows], data)

    return Stepper(replayed(step, data.device), lambda: torch.cat(b, 1).detach(), keep)


def module_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`module`: Polynomial3Batch, MSELoss and one torch.optim.SGD (the jobs share its lr)."""
    model = Polynomial3Batch(random_cubics(jobs, data))
    optimizer = torch.optim.SGD(model.parameters(), lr=shared_rate(jobs), foreach=multi_tensor(data))
    return _optimizer_stepper(model, power_rows(data.x, 3), optimizer, data)


def sequential_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`nn`: LinearRows, MSELoss and the hand-written update with each job's lr."""
    layer, rows = sequential_layer(jobs, data)
    return _sequential_stepper(layer, rows, learning_rates(jobs, data), data)


def _sequential_stepper(layer, inputs, rates, data) -> Stepper:
    target = targets(len(rates), data)
    loss_fn = torch.nn.MSELoss(reduction="sum")  # over every job: each gets its own loss's gradient
    update = descent(layer.parameters(), rates)

    def step(want_loss):
        y_pred = layer(inputs)
        loss_fn(y_pred, target).backward()
        update()
        return job_losses(y_pred, target) if want_loss else no_loss(y_pred)

    def keep(rows):
        return _sequential_stepper(layer.kept(rows), inputs, rates[rows], data)

    return Stepper(replayed(step, data.device), layer.coefficients, keep)


def rmsprop_cubics(jobs: Sequence[Mapping], data: Sample) -> Stepper:
    """`optim`: LinearRows trained by one torch.optim.RMSprop, whose state is per element."""
    layer, rows = sequential_layer(jobs, data)
    # capturable: the step count stays on the GPU, as a CUDA graph needs (RMSprop's math ignores it).
    optimizer = torch.optim.RMSprop(layer.parameters(), lr=shared_rate(jobs), foreach=multi_tensor(data),
                                    capturable=data.device.type == "cuda")
    return _optimizer_stepper(layer, rows, optimizer, data)


def multi_tensor(data: Sample) -> bool:
    """torch.optim's foreach path on a GPU, where it launches fewer kernels; on the CPU its
    single-tensor path (torch's own default there): the same bits, and 8% cheaper a small chunk's step
    for module (SGD, 141-145 us against 153-158) and optim (RMSprop, 184-196 against 201-209)."""
    return data.device.type == "cuda"


def _optimizer_stepper(model, inputs, optimizer, data) -> Stepper:
    # model is Polynomial3Batch or LinearRows: either can make a model of some of its jobs (kept).
    step = optimizer_step(model, inputs, targets(len(model.coefficients()), data), optimizer)

    def keep(rows):
        kept = model.kept(rows)
        return _optimizer_stepper(kept, inputs, kept_optimizer(optimizer, list(kept.parameters()), rows), data)

    return Stepper(replayed(step, data.device), model.coefficients, keep)
