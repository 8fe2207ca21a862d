"""Which jobs can share a vectorised pass: torch-free, so the API can group a sweep's messages too."""
from __future__ import annotations

from collections.abc import Mapping

# The variants fits/batched/run.py can run as one pass; dynamic and lstsq run alone.
BATCHABLE = ("autograd", "custom_function", "module", "nn", "numpy", "optim", "tensor")
# torch.optim keeps one learning rate per param group: jobs share a pass only if they share it.
SHARED_RATE = ("module", "optim")
SHAPE = ("steps", "samples", "dtype", "device", "log_every")


def batch_key(variant: str, params: Mapping) -> tuple | None:
    """Jobs with equal keys can run in one vectorised pass; None: this job runs alone."""
    if variant not in BATCHABLE:
        return None
    rate = (params["learning_rate"],) if variant in SHARED_RATE else ()
    return (variant, *(params[name] for name in SHAPE), *rate)
