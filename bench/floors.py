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

A floor alone does not say whether a goal is in reach: a small chunk keeps its arrays in the cache
(the kernels run faster per job) but pays the mechanism's fixed cost per step for few jobs. Each
variant's ceiling is the most its mechanism allows here: at every candidate chunk size, its kernels'
time per step plus the fixed cost of its own step (the variant's step at one job less its kernels at
one job: graph, engine, optimizer, module calls, and fitq's own code around them), the best over the
sizes; each the median of five rounds taken in turn over the sizes. A goal above the ceiling cannot
be reached without other arithmetic or another mechanism; a rate below a ceiling above the goal is
fitq's to find.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from typing import NamedTuple

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
    target, one = torch.sin(x).expand(jobs, N), torch.ones(())

    def step():
        u = (b[3] * x).add_(b[2])  # as the variant's step, its sums in place
        p3 = u ** 3  # LegendrePolynomial3's forward and backward work in place, as here
        p3.mul_(5).sub_(3 * u).mul_(0.5)
        y_pred = (b[1] * p3).add_(b[0])
        torch.nn.functional.mse_loss(y_pred, target, reduction="sum")
        grad = torch.ops.aten.mse_loss_backward(one, y_pred, target, 2)  # reduction sum: 2 (y_pred - y)
        slope = u ** 2
        slope.mul_(5).sub_(1)
        grad_u = (grad * b[1] * 1.5).mul_(slope)
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


def row_bytes(variant: str) -> int:
    """Bytes of one default-size job's row of a (jobs, N) array: float64 for numpy, float32 for the rest."""
    return N * (8 if variant == "numpy" else 4)


def jobs_in(variant: str, budget: int) -> int:
    """How many default-size jobs a chunk of `budget` bytes holds."""
    return max(1, budget // row_bytes(variant))


def timings(variant: str, jobs: int, steps: int = STEPS, repeats: int = 3) -> list[tuple[float, float]]:
    """`repeats` pairs of CPU seconds per step of `jobs` jobs, taken in turn: (the kernels alone, the
    variant's own pass over one chunk of them, its setup and results included)."""
    step = KERNELS[variant](jobs)
    defaults = {**catalog.VARIANTS[variant].defaults, "device": "cpu", "steps": steps}
    batch = [{**defaults, "seed": seed} for seed in range(jobs)]
    one = Tuner((jobs * row_bytes(variant),))  # the chunk is the whole batch
    batched.run_batch(variant, batch, chunking=one)
    pairs = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(steps):
            step()
        kernels = time.process_time() - started
        started = time.process_time()
        batched.run_batch(variant, batch, chunking=one)
        pairs.append((kernels / steps, (time.process_time() - started) / steps))
    return pairs


def rate(jobs: int, seconds: float) -> float:
    """fits/s of default-size jobs (2000 steps) when a step of `jobs` jobs takes `seconds`."""
    return jobs / (2000 * seconds)


def floor(variant: str, budget: int) -> tuple[int, float, float]:
    """(chunk size in jobs, fits/s of the kernels alone, fits/s of the variant's own pass over that
    chunk) for chunks of `budget` bytes, both in CPU time, each the best of three timings in turn."""
    jobs = jobs_in(variant, budget)
    pairs = timings(variant, jobs)
    return jobs, rate(jobs, min(k for k, _ in pairs)), rate(jobs, min(w for _, w in pairs))


class Ceiling(NamedTuple):
    """The most a variant's mechanism allows on this machine (module docstring), and where."""

    fixed_s: float  # the mechanism's cost per step beyond its kernels, measured at one job
    floors: dict[int, float]  # chunk budget in bytes: fits/s of the kernels alone
    rates: dict[int, float]  # chunk budget: fits/s of the kernels plus the fixed cost per step

    def best(self) -> tuple[int, float]:
        """(budget, fits/s) of the chunk size where the kernels plus the fixed cost run fastest."""
        return max(self.rates.items(), key=lambda item: item[1])

    def best_floor(self) -> tuple[int, float]:
        """(budget, fits/s) of the chunk size where the kernels alone run fastest."""
        return max(self.floors.items(), key=lambda item: item[1])


class Samples:
    """A variant's ceiling measured a round at a time, so that its rounds can be taken beside the
    variant's own passes (bench.batched) rather than minutes after them."""

    def __init__(self, variant: str, budgets=CANDIDATES) -> None:
        self.variant, self.fixed = variant, list[float]()
        self.steps = {budget: KERNELS[variant](jobs_in(variant, budget)) for budget in budgets}
        self.seconds: dict[int, list[float]] = {budget: [] for budget in budgets}

    def sample(self, rounds: int = 1) -> Samples:
        """`rounds` more measures of the fixed cost, then `rounds` more rounds in turn over the sizes."""
        self.fixed += [max(0.0, whole - kernels) for kernels, whole in timings(self.variant, 1, 1000, rounds)]
        for _ in range(rounds):
            for budget, step in self.steps.items():
                started = time.process_time()
                for _ in range(STEPS):
                    step()
                self.seconds[budget].append((time.process_time() - started) / STEPS)
        return self

    def ceiling(self) -> Ceiling:
        """The ceiling the rounds so far give: medians of the fixed cost and of each size's kernels."""
        fixed, floors, rates = statistics.median(self.fixed), {}, {}
        for budget, taken in self.seconds.items():
            jobs, kernels = jobs_in(self.variant, budget), statistics.median(taken)
            floors[budget], rates[budget] = rate(jobs, kernels), rate(jobs, kernels + fixed)
        return Ceiling(fixed, floors, rates)


def ceiling(variant: str, budgets=CANDIDATES, rounds: int = 5) -> Ceiling:
    """The variant's ceiling over chunks of `budgets` bytes (module docstring), in CPU time."""
    # Medians of rounds taken in turn over the sizes: this machine's speed drifts by tens of percent
    # within a minute, and a best of three at each size in its own moment compared moments, not sizes
    # (module's floor at 512 KB read 190 in one run and 300 in the next).
    return Samples(variant, budgets).sample(rounds).ceiling()


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
    print("floor, variant: at the chunk size the variant settles on; fixed: its step's cost beyond its kernels at "
          "one job; best floor, ceiling: the best over the candidate chunk sizes of the kernels alone and of the "
          "kernels plus the fixed cost per step")
    print(f"{'variant':16} {'chunk':>6} {'jobs':>6} {'floor':>8} {'variant':>8} {'fixed':>8} "
          f"{'best floor':>16} {'ceiling':>16} {'load':>5}")
    for variant in args.variants:
        budget = chosen(settled(variant), variant)
        jobs, kernels, whole = floor(variant, budget)
        top = ceiling(variant)
        print(f"{variant:16} {budget >> 10:>3d} KB {jobs:6d} {kernels:8.1f} {whole:8.1f} {top.fixed_s * 1e6:5.0f} us "
              f"{at(*top.best_floor()):>16} {at(*top.best()):>16} {os.getloadavg()[0]:5.1f}", flush=True)


def at(budget: int, fits: float) -> str:
    """A rate and the chunk size it was measured at: '225.1 (256 KB)'."""
    return f"{fits:.1f} ({budget >> 10} KB)"


if __name__ == "__main__":
    main()
