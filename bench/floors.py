"""Each batched variant's floor: the fits/s of its step's arithmetic alone, without its mechanism.

    .venv/bin/python -m bench.floors                   # every batchable variant, one torch thread

A floor runs, on one chunk of the size the variant's passes choose on this machine (fits/batched/
chunking.py, settled first by short passes of 1,000 jobs), the same kernels on the same shapes
and layouts as the variant's batched step (its products, elementwise passes and reductions, forward
and backward), called directly in a loop: no autograd graph, no engine, no torch.optim, no module
call. Beside it, the variant's own pass (fits.batched.run_batch) over one chunk of jobs, timed in
turn with it: what the variant lacks from its floor is what its mechanism costs (autograd's graph and
engine, torch.optim, nn.Module calls); a goal above the floor cannot be met without other arithmetic.
Rates are fits/s of default-size jobs (2000 steps x 2000 samples) in CPU time, which a shared machine
moves less than wall time, from the best of three timings of 200 steps each.
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch

from fits import batched, catalog
from fits.batched.chunking import CANDIDATES, Tuner, describe
from worker import allocator, threads

N, STEPS = 2000, 200


def cubic_kernels(jobs: int, lib=torch, dtype=torch.float32):
    """tensor and numpy: y_pred - y in one product (y folded in), the gradient in another, the update."""
    if lib is np:
        x = np.linspace(-math.pi, math.pi, N)
        design, coefficients = np.stack([x ** k for k in range(4)]), np.random.randn(5, jobs)
        folded, residual, gradient = np.vstack([design, np.sin(x)]), np.empty((jobs, N)), np.empty((4, jobs))

        def step():
            np.matmul(coefficients.T, folded, out=residual)
            np.matmul(design, residual.T, out=gradient)
            np.subtract(coefficients[:4], np.multiply(gradient, 1e-6, out=gradient), out=coefficients[:4])
        return step
    x = torch.linspace(-math.pi, math.pi, N, dtype=dtype)
    design, coefficients = torch.stack([x ** k for k in range(4)]), torch.randn(5, jobs, dtype=dtype)
    folded = torch.cat([design, torch.sin(x)[None]])
    return lambda: coefficients[:4].sub_(1e-6 * (design @ (coefficients.T @ folded).T))


def autograd_kernels(jobs: int):
    """autograd: the cubic's products, the dot product of the residual and its backward (r + r)."""
    x = torch.linspace(-math.pi, math.pi, N)
    design, leaf = torch.stack([x ** k for k in range(4)]), torch.randn(5, jobs)
    folded, one = torch.cat([design, torch.sin(x)[None]]), torch.ones(())

    def step():
        residual = leaf.T @ folded
        flat = residual.view(-1)
        torch.dot(flat, flat)
        gradient = (one * flat + one * flat).view(jobs, N)
        leaf[:4] -= 1e-6 * (folded @ gradient.T)[:4]
    return step


def linear_kernels(jobs: int, bias: bool):
    """nn and optim (bias) and module (none): the product, MSELoss(sum) forward and backward, the
    weight's (and bias's) gradient, the update."""
    x = torch.linspace(-math.pi, math.pi, N)
    rows = torch.stack([x ** k for k in range(0 if not bias else 1, 4)])
    target = torch.sin(x).expand(jobs, N)  # a broadcast view, as fits.batched.updates.targets
    weight, shift, one = torch.randn(rows.shape[0], jobs).T, torch.randn(jobs, 1), torch.ones(())

    def step():
        y_pred = torch.addmm(shift, weight, rows) if bias else weight @ rows
        torch.nn.functional.mse_loss(y_pred, target, reduction="sum")
        grad = torch.ops.aten.mse_loss_backward(one, y_pred, target, 2)  # reduction sum
        weight.sub_(1e-6 * (rows @ grad.T).T)
        if bias:
            shift.sub_(1e-6 * grad.sum(1, keepdim=True))
    return step


def legendre_kernels(jobs: int):
    """custom_function: every elementwise pass and row sum of its forward and backward."""
    x, b = torch.linspace(-math.pi, math.pi, N), [torch.full((jobs, 1), v) for v in (0.0, -1.0, 0.0, 0.3)]
    y, one = torch.sin(x), torch.ones(())

    def step():
        u = b[2] + b[3] * x
        p3 = 0.5 * (5 * u ** 3 - 3 * u)
        residual = b[0] + b[1] * p3 - y
        flat = residual.view(-1)
        torch.dot(flat, flat)
        grad = (one * flat + one * flat).view(jobs, N)  # 2 (y_pred - y)
        grad_u = (grad * b[1]) * 1.5 * (5 * u ** 2 - 1)
        for param, g in zip(b, (grad, grad * p3, grad_u, grad_u * x)):
            param.sub_(1e-6 * g.sum(1, keepdim=True))
    return step


KERNELS = {
    "autograd": autograd_kernels,
    "custom_function": legendre_kernels,
    "module": lambda jobs: linear_kernels(jobs, bias=False),
    "nn": lambda jobs: linear_kernels(jobs, bias=True),
    "numpy": lambda jobs: cubic_kernels(jobs, np),
    "optim": lambda jobs: linear_kernels(jobs, bias=True),
    "tensor": cubic_kernels,
}


def settled(variant: str, jobs: int = 1000, settle_s: float = 0.25, passes: int = 12) -> Tuner:
    """A chunk tuner that has chosen this variant's size, as a worker's does from its first passes:
    passes of `jobs` default-size jobs of 200 steps until every candidate ran `settle_s` CPU seconds
    (a quarter of the worker's, so that a bench settles in seconds), at most `passes` of them."""
    # Every job of these passes measures (explore=1), as a worker's first passes did before they ran
    # most jobs at the best size so far: the bench only wants the choice, soon.
    tuner = Tuner(CANDIDATES, settle_s=settle_s, explore=1.0)
    defaults = {**catalog.VARIANTS[variant].defaults, "device": "cpu", "steps": STEPS, "log_every": 100}
    for _ in range(passes):
        if tuner.chosen(variant) is not None:
            break
        batched.run_batch(variant, [{**defaults, "seed": seed} for seed in range(jobs)], chunking=tuner)
    return tuner


def chosen(tuner: Tuner, variant: str) -> int:
    """The budget the tuner chose (the largest candidate if it has not: it only says so here)."""
    budget = tuner.chosen(variant)
    if budget is None:
        print(f"{variant}: chunk size not settled ({describe(tuner.rates(variant), None)}); "
              f"using {max(CANDIDATES) >> 10} KB")
    return budget or max(CANDIDATES)


def floor(variant: str, budget: int) -> tuple[int, float, float]:
    """(chunk size in jobs, fits/s of the kernels alone, fits/s of the variant's own pass over that
    chunk) for chunks of `budget` bytes, both in CPU time, each the best of three timings in turn."""
    item = 8 if variant == "numpy" else 4
    jobs = max(1, budget // (N * item))
    step = KERNELS[variant](jobs)
    defaults = {**catalog.VARIANTS[variant].defaults, "device": "cpu", "steps": STEPS}
    batch = [{**defaults, "seed": seed} for seed in range(jobs)]
    one = Tuner((budget,))  # the chunk is the whole batch
    batched.run_batch(variant, batch, chunking=one)
    kernels = whole = math.inf
    for _ in range(3):
        started = time.process_time()
        for _ in range(STEPS):
            step()
        kernels = min(kernels, time.process_time() - started)
        started = time.process_time()
        batched.run_batch(variant, batch, chunking=one)
        whole = min(whole, time.process_time() - started)
    # A default job is 2000 steps; a chunk's step serves `jobs` jobs.
    return jobs, jobs * STEPS / (2000 * kernels), jobs * STEPS / (2000 * whole)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floors", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=lambda s: s.split(","), default=sorted(KERNELS))
    parser.add_argument("--glibc-malloc", action="store_true",
                        help="keep glibc's own malloc thresholds, not the worker's (worker/allocator.py)")
    args = parser.parse_args(argv)
    tuned = not args.glibc_malloc and allocator.tune()
    threads.limit(1)  # torch's and numpy's BLAS, as the worker runs
    print(f"floors, fits/s of default-size jobs, torch {torch.__version__}, 1 CPU thread; malloc "
          + ("as the worker sets it" if tuned else "glibc's own thresholds"))
    print(f"{'variant':16} {'chunk':>6} {'jobs':>6} {'floor':>8} {'variant':>8} {'load':>5}")
    for variant in args.variants:
        budget = chosen(settled(variant), variant)
        jobs, kernels, whole = floor(variant, budget)
        print(f"{variant:16} {budget >> 10:>3d} KB {jobs:6d} {kernels:8.1f} {whole:8.1f} {os.getloadavg()[0]:5.1f}",
              flush=True)


if __name__ == "__main__":
    main()
