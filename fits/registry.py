"""The table of variants by name, and one entry point to run a fit."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fits import (
    autograd_loop,
    dynamic,
    legendre,
    lstsq,
    nn_sequential,
    numpy_manual,
    optim_rmsprop,
    polynomial_module,
    tensor_manual,
)
from fits.loop import Progress
from fits.result import FitResult

VARIANTS = {
    "autograd": autograd_loop.fit,
    "custom_function": legendre.fit,
    "dynamic": dynamic.fit,
    "lstsq": lstsq.fit,
    "module": polynomial_module.fit,
    "nn": nn_sequential.fit,
    "numpy": numpy_manual.fit,
    "optim": optim_rmsprop.fit,
    "tensor": tensor_manual.fit,
}


class UnknownVariant(KeyError):
    """A variant name that is not in VARIANTS."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        # KeyError's own str() would only repr the name.
        return f"unknown variant {self.name!r}; known variants: {', '.join(sorted(VARIANTS))}"


def run(variant: str, params: Mapping[str, Any], on_progress: Progress | None = None,
        deadline: float | None = None) -> FitResult:
    """Run the named variant with its (validated, defaulted) keyword parameters; a loop still
    running at `deadline` (time.monotonic()) raises FitTimeout."""
    try:
        fit = VARIANTS[variant]
    except KeyError:
        raise UnknownVariant(variant) from None
    return fit(**params, on_progress=on_progress, deadline=deadline)
