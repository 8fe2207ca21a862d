"""How many CPU threads a worker's fits use: torch's own pool and numpy's BLAS, TORCH_THREADS each."""
from __future__ import annotations

import torch

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the worker extra installs it; a bench on a GPU machine may have torch and numpy alone
    threadpool_limits = None


def limit(threads: int) -> bool:
    """Run torch's intra-op work and the BLAS numpy calls (OpenBLAS in numpy's wheels) on `threads`
    threads each; False where threadpoolctl is missing, and numpy's BLAS keeps its own count."""
    torch.set_num_threads(threads)
    if threadpool_limits is None:
        return False
    # numpy's BLAS sizes its own pool, one thread per core, whatever torch is told: a numpy pass of
    # 128-job chunks then ran on both of 2 cores at a third of its one-thread speed (docs/benchmarks.md).
    threadpool_limits(threads, user_api="blas")
    return True
