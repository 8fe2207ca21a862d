"""Which jobs can share a vectorised pass: torch-free, so the API can group a sweep's messages too."""
from __future__ import annotations

from collections.abc import Mapping

# The variants fits/batched/run.py can run as one pass; dynamic and lstsq run alone.
BATCHABLE = ("autograd", "custom_function", "module", "nn", "numpy", "optim", "tensor")
# torch.optim keeps one learning rate per param group: jobs share a pass only if they share it.
SHARED_RATE = ("module", "optim")
SHAPE = ("steps", "samples", "dtype", "device", "log_every")
# Sample-steps (steps x samples, summed over a pass's jobs) a second that a pass manages at the least:
# on the CPU about half the slowest measured, custom_function in float64 at 1,000,000 samples (4.3e7
# and 9.2e7 in two runs on a 2-core AMD EPYC, one thread; `python -m bench.work_rates`), and on a GPU
# far below what an H100 does (8e10).
SLOWEST_RATE = {"cpu": 2.5e7, "cuda": 2e9}
# The share of its jobs' time budget that a pass is planned to take at that rate.
BUDGET_SHARE = 0.5


def batch_key(variant: str, params: Mapping) -> tuple | None:
    """Jobs with equal keys can run in one vectorised pass; None: this job runs alone."""
    if variant not in BATCHABLE:
        return None
    rate = (params["learning_rate"],) if variant in SHARED_RATE else ()
    return (variant, *(params[name] for name in SHAPE), *rate)


def most_in_pass(params: Mapping, budget_s: float, device: str = "cpu") -> int:
    """The most jobs of this shape one pass may hold and still finish well within their time budget,
    which the pass's jobs share: 64 jobs of a few seconds each would otherwise time out together
    where each alone would not. 1: a job that needs that much alone runs alone."""
    work = params["steps"] * params["samples"]
    return max(1, int(BUDGET_SHARE * budget_s * SLOWEST_RATE[device] // max(1, work)))
