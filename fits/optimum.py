"""The least-squares optimum every fit is measured against: the best cubic on the job's own points."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from fits.data import torch_dtype

DEGREE = 3  # the cubic every variant but dynamic fits, and the one lstsq solves for


@dataclass(frozen=True)
class Optimum:
    """The best cubic on `samples` points of `dtype`: its power-basis coefficients and its loss."""

    samples: int
    dtype: str
    polynomial: tuple[float, ...] | None  # None below four points, where many cubics fit exactly
    loss: float


# A worker sees few shapes: each is solved once per process (about 0.7 s at a million points).
@lru_cache(maxsize=64)
def optimum(samples: int, dtype: str = "float64") -> Optimum:
    """The lstsq answer on linspace(-pi, pi, samples) made in `dtype` (the job's very points), solved in
    float64 so that the float32 loops are measured against the true floor, not float32's rounding of it."""
    if samples < DEGREE + 1:  # more coefficients than points: a cubic passes through them all
        return Optimum(samples, dtype, None, 0.0)
    x = torch.linspace(-math.pi, math.pi, samples, dtype=torch_dtype(dtype)).to(torch.float64)
    y = torch.sin(x)
    # In u = x / pi, so that the powers stay near 1 and the system is well conditioned.
    design = (x / math.pi).unsqueeze(-1).pow(torch.arange(DEGREE + 1, dtype=torch.float64))
    scaled = torch.linalg.lstsq(design, y.unsqueeze(-1)).solution.squeeze(-1)
    loss = float((design @ scaled - y).pow(2).sum())
    polynomial = tuple(float(d) / math.pi ** k for k, d in enumerate(scaled.tolist()))
    return Optimum(samples, dtype, polynomial, loss)


def excess(final_loss: float | None, best: Optimum) -> dict[str, float | None]:
    """optimum_loss, excess_loss (final - optimum) and relative_excess_loss ((final - optimum) / optimum)."""
    gap = None if final_loss is None else final_loss - best.loss
    # Below four points the optimum is an exact fit (loss 0): no relative excess over it.
    relative = None if gap is None or best.loss <= 0 else gap / best.loss
    return {"optimum_loss": best.loss, "excess_loss": gap, "relative_excess_loss": relative}
