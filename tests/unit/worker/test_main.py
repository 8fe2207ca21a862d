"""The worker process imports torch once at start and leaves CUDA alone until a job runs."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import sys, time
start = time.perf_counter()
import worker.main
import torch
assert "torch.optim" in sys.modules and "fits.registry" in sys.modules
# Forking after CUDA starts breaks the children: the import must not have touched it.
assert not torch.cuda.is_initialized()
tasks = sys.modules["worker.tasks"]
assert tasks.run_fit.name == "fitq.run_fit"
conf = worker.main.app.conf
assert conf.accept_content == ["json"] and conf.task_serializer == "json"
# A message is acked only after its job ran, redelivered if the worker dies, one at a time.
assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
print("ok")
"""


def test_worker_module_imports_torch_up_front_without_starting_cuda(bare_env):
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=bare_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_worker_refuses_settings_that_contradict_each_other(bare_env):
    # Redis would redeliver a job still within its time budget to a second worker.
    env = bare_env(VISIBILITY_TIMEOUT_S="600", MAX_TIMEOUT_S="3600")
    for argv in (["-c", "import worker.main"], ["-m", "service.cli.main", "worker"]):
        done = subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode != 0, argv
        assert "VISIBILITY_TIMEOUT_S (600) must exceed MAX_TIMEOUT_S (3600)" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
