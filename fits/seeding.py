"""Repeatable random initialisation that leaves the process's global random state alone."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def normal_scalars(seed: int, count: int, dtype: torch.dtype, device: torch.device) -> list[torch.Tensor]:
    """`count` standard-normal scalars b_0, b_1, ... drawn in order from a CPU generator seeded with seed."""
    # Drawing on the CPU and then moving gives the same init on every device.
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return [torch.randn((), generator=generator, dtype=dtype).to(device) for _ in range(count)]


@contextmanager
def global_seed(seed: int) -> Iterator[None]:
    """Seed torch's global CPU generator inside the block and restore its state afterwards."""
    # For code that only draws from the global generator (nn.Linear's default init).
    # Seeding just the CPU generator, not torch.manual_seed, so no CUDA generator is touched.
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        yield
