"""A worker process runs torch and numpy's BLAS on TORCH_THREADS threads each, not one per core."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import threads

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import json
import worker.main
import torch
from threadpoolctl import threadpool_info
blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
print(json.dumps({"torch": torch.get_num_threads(), "blas": blas}))
"""


def start(bare_env, probe, **env):
    """Run `probe` in a fresh interpreter with a worker's environment (nothing it reaches is up)."""
    return subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=bare_env(**env), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_worker_holds_torch_and_numpys_blas_to_torch_threads(bare_env, threads):
    done = start(bare_env, PROBE, TORCH_THREADS=str(threads))
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # numpy's wheels bring OpenBLAS, which starts one thread per core: on 2 cores a 128-job numpy
    # chunk ran on both, a third as fast as on one (docs/benchmarks.md).
    assert seen["blas"], "numpy loaded no BLAS that threadpoolctl can see: nothing was checked"
    assert seen == {"torch": threads, "blas": [threads] * len(seen["blas"])}


def test_a_worker_without_threadpoolctl_refuses_to_start_and_says_why(bare_env):
    # Rather than run numpy passes on every core of a host other workers share.
    done = start(bare_env, "import sys; sys.modules['threadpoolctl'] = None; import worker.main")
    assert done.returncode != 0
    assert "threadpoolctl is not installed (pip install 'fitq[worker]')" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_a_worker_says_at_start_which_blas_kernels_numpy_runs(bare_env):
    # numpy's speed is its BLAS kernels', and OPENBLAS_CORETYPE in a host's environment can pick older ones.
    done = start(bare_env, "import worker.main")
    assert done.returncode == 0, done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines() if "numpy's BLAS: " in line]
    assert len(said) == 1, done.stderr[-2000:]
    assert "OpenBLAS" in said[0] and " kernels" in said[0]
    # Run as the suite is: where the environment picks the kernels, the line says so.
    forced = os.environ.get(threads.CORETYPE)
    assert (f"{threads.CORETYPE}={forced}" in said[0]) == bool(forced)
