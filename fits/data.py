"""The data every variant fits: y = sin(x) on evenly spaced points in [-pi, pi]."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from fits.device import resolve

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Sample:
    """The points to fit, with the dtype and device they live on."""

    x: torch.Tensor
    y: torch.Tensor
    dtype: torch.dtype
    device: torch.device


def sine(samples: int, dtype: str, device: str) -> Sample:
    """x = linspace(-pi, pi, samples) and y = sin(x), made on the resolved device as the seed does."""
    where = resolve(device)
    kind = torch_dtype(dtype)
    x = torch.linspace(-math.pi, math.pi, samples, device=where, dtype=kind)
    return Sample(x, torch.sin(x), kind, where)


def powers(x, top: int) -> dict:
    """{k: x ** k} for k = 1..top, computed once per fit (the same values the seed recomputes per step)."""
    return {k: x if k == 1 else x ** k for k in range(1, top + 1)}


def power_rows(x, top: int):
    """The rows x ** 0, x ** 1, ..., x ** top of one (top + 1, n) array or tensor, as x is one.

    A loop multiplies them by a column of coefficients and sums down the column or along the rows in
    one call each: the seed's term-by-term sums, bit for bit (for torch past 32768 points only on one
    thread, as workers run: more threads split a long sum one way alone and another way in a row).
    """
    p = powers(x, top)
    stack = np.stack if isinstance(x, np.ndarray) else torch.stack
    return stack([x ** 0] + [p[k] for k in range(1, top + 1)])


def check_dtype(dtype: str) -> str:
    """The dtype name itself, if it is one a fit supports."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    return dtype


def torch_dtype(dtype: str) -> torch.dtype:
    """The torch dtype for a supported dtype name."""
    return getattr(torch, check_dtype(dtype))
