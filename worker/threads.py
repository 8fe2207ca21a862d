"""How many CPU threads a worker's fits use: torch's own pool and numpy's BLAS, TORCH_THREADS each."""
from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits


def limit(threads: int) -> None:
    """Run torch's intra-op work and the BLAS numpy calls (OpenBLAS in numpy's wheels) on `threads`
    threads each."""
    torch.set_num_threads(threads)
    # numpy's BLAS sizes its own pool, one thread per core, whatever torch is told: a numpy pass of
    # 128-job chunks then ran on both of 2 cores at a third of its one-thread speed (docs/benchmarks.md).
    threadpool_limits(threads, user_api="blas")
