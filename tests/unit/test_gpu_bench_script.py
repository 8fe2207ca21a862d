"""scripts/gpu-bench on a machine without a GPU: its help, and a dry run that lists every step."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu-bench"


def run(*args, **env):
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHON": sys.executable, **env})


def test_help_names_the_service_sweep():
    done = run("--help")
    assert done.returncode == 0
    assert "10,000-point tensor sweep through the service" in done.stdout


def test_a_dry_run_lists_every_step_and_runs_none():
    done = run("--dry-run")
    assert done.returncode == 0, done.stderr
    for step in ("tests/unit/fits/test_cuda_graph.py", "bench.loops --device cuda", "bench.loops --device cpu",
                 "bench.batched --device cuda", "bench.results --device cuda --pass-jobs 10000"):
        assert f"-m {step}" in done.stdout or step in done.stdout
    # The service sweep is either planned with its PostgreSQL or skipped with the reason.
    assert ("BATCH_SIZE=10000" in done.stdout and "--sweeps-only --variants tensor --sweep-points 10000"
            in done.stdout) or "== skipped: step 6" in done.stdout
    assert done.stdout.count("(dry run: not run)") >= 5


def test_the_sweep_size_is_a_setting():
    done = run("--dry-run", SWEEP_POINTS="300", SWEEP_BATCH_SIZE="64", FITQ_PG_ADMIN="postgresql://x@h:1/postgres")
    assert "PostgreSQL for step 6: postgresql://x@h:1/postgres" in done.stdout
    assert "BATCH_SIZE=64" in done.stdout and "--sweep-points 300" in done.stdout


def test_an_unknown_option_is_refused():
    done = run("--fast")
    assert done.returncode == 2 and "unknown option --fast" in done.stderr
