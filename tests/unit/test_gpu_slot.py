"""docker/gpu-slot gives each scaled GPU worker on a host a GPU that no other one holds."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLOT = REPO / "docker" / "gpu-slot"
# The worker stand-in: Python that execs another program, as `fitq worker` execs celery; that one says
# which GPU it got and runs until stopped, holding the lock it inherited through both execs.
WORKER = [sys.executable, "-c", "import os; os.execvp('sh', ['sh', '-c', "
          "'echo \"gpu $CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER\"; exec sleep 60'])"]


@pytest.fixture
def host(tmp_path):
    """A host with three GPUs (a fake nvidia-smi) and the replicas' shared lock folder."""
    bin_dir, slots = tmp_path / "bin", tmp_path / "slots"
    bin_dir.mkdir()
    slots.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\nfor i in 0 1 2; do echo \"GPU $i: NVIDIA H100 (UUID: GPU-$i)\"; done\n")
    smi.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FITQ_GPU_SLOTS": str(slots),
           "FITQ_GPU_SLOT_WAIT_S": "0.1"}
    started = []

    def replica():
        proc = subprocess.Popen([str(SLOT), *WORKER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        started.append(proc)
        return proc

    yield replica, env
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_each_replica_gets_its_own_gpu_and_a_spare_one_waits_for_a_free_one(host):
    replica, _ = host
    first = [replica() for _ in range(3)]
    lines = [p.stdout.readline() for p in first]
    assert sorted(lines) == [f"gpu {i} PCI_BUS_ID\n" for i in range(3)]
    spare = replica()
    assert "all 3 GPUs of this host have a worker; waiting" in spare.stderr.readline()
    time.sleep(0.3)
    assert spare.poll() is None  # still waiting, its command not started
    os.killpg(first[1].pid, signal.SIGKILL)  # a worker dies however it dies: its GPU is free again
    first[1].wait()
    assert spare.stdout.readline() == lines[1]


def test_without_a_visible_gpu_it_says_what_is_missing(host, tmp_path):
    _, env = host
    (tmp_path / "nodriver").mkdir()
    smi = tmp_path / "nodriver" / "nvidia-smi"
    smi.write_text("#!/bin/sh\n"
                   "echo 'NVIDIA-SMI has failed because it could not communicate with the driver' >&2\nexit 9\n")
    smi.chmod(0o755)
    env = {**env, "PATH": f"{tmp_path / 'nodriver'}:/usr/bin:/bin"}
    done = subprocess.run([str(SLOT), "true"], env=env, capture_output=True, text=True, timeout=10)
    assert done.returncode == 1
    assert "no GPU is visible in this container" in done.stderr
