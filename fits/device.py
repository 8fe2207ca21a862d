"""Where a fit runs: turns the requested device name into the one actually used."""
from __future__ import annotations

import torch

NAMES = ("auto", "cpu", "cuda")


def resolve(device: str) -> torch.device:
    """The torch device for a request: 'auto' is CUDA when available, else the CPU."""
    _check(device)
    # Asking is_available() only here, inside a fit: CUDA must not start before a worker forks.
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but CUDA is not available here")
    return torch.device(device)


def numpy_device(device: str) -> str:
    """The device for a numpy fit, which is always the CPU; asking for 'cuda' is an error."""
    _check(device)
    if device == "cuda":
        raise ValueError("the numpy variant runs on the CPU only; use device 'cpu' or 'auto'")
    return "cpu"


def _check(device: str) -> None:
    if device not in NAMES:
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(NAMES)}")
