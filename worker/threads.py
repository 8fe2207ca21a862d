"""How many CPU threads a worker's fits use: torch's own pool and numpy's BLAS, TORCH_THREADS each."""
from __future__ import annotations

import os

import torch

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # the worker extra installs it; a bench on a GPU machine may have torch and numpy alone
    threadpool_info = threadpool_limits = None

# OpenBLAS takes its kernels from this variable, not from the CPU, where it is set. Some hosts set it
# to an older kind for older OpenBLAS builds: numpy's float64 products on an AVX-512 machine then ran
# at less than half the speed of the kernels OpenBLAS picks itself (docs/benchmarks.md).
CORETYPE = "OPENBLAS_CORETYPE"


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


def openblas_kernels() -> str:
    """The kernels numpy's OpenBLAS runs in this process, e.g. 'Haswell'; '' where it runs no OpenBLAS."""
    import numpy  # noqa: F401  (loads numpy's BLAS, so that threadpoolctl can see it)

    if threadpool_info is None:
        return ""
    return " ".join(p.get("architecture") or "" for p in threadpool_info() if p["internal_api"] == "openblas")


def blas() -> str:
    """Which BLAS numpy calls and whose kernels it runs, e.g. 'OpenBLAS 0.3.31, Haswell kernels'."""
    import numpy  # noqa: F401  (loads numpy's BLAS, so that threadpoolctl can see it)

    if threadpool_info is None:
        return "unknown (threadpoolctl is not installed)"
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    if not pools:
        return "none that threadpoolctl can see"
    named = []
    for pool in pools:
        name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(pool["internal_api"], pool["internal_api"])
        kernels = pool.get("architecture")
        named.append(f"{name} {pool.get('version') or ''}".rstrip() + (f", {kernels} kernels" if kernels else ""))
    forced = os.environ.get(CORETYPE)
    return "; ".join(named) + (f" (as {CORETYPE}={forced} in the environment says)" if forced else "")
