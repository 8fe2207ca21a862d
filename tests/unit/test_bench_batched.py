"""make bench says when the environment, not OpenBLAS, chose the kernels numpy's rate was measured with."""
import pytest

from bench import batched
from worker import threads


@pytest.fixture
def running():
    """The kernels numpy's OpenBLAS runs in this process (threadpoolctl)."""
    kernels = threads.openblas_kernels()
    if not kernels:
        pytest.skip("numpy here does not run OpenBLAS")
    return kernels


def test_kernels_the_environment_chose_over_openblass_own_pick_are_named(monkeypatch, running):
    monkeypatch.setenv(threads.CORETYPE, running)
    monkeypatch.setattr(batched, "own_kernels", lambda: "Zen9000")
    assert batched.forced_kernels() == (running, "Zen9000")


def test_nothing_is_said_where_the_environment_picks_what_openblas_would(monkeypatch, running):
    monkeypatch.setenv(threads.CORETYPE, running)
    monkeypatch.setattr(batched, "own_kernels", lambda: running)
    assert batched.forced_kernels() is None


def test_nothing_is_said_where_the_environment_picks_nothing(monkeypatch, running):
    monkeypatch.delenv(threads.CORETYPE, raising=False)
    monkeypatch.setattr(batched, "own_kernels", lambda: "Zen9000")
    assert batched.forced_kernels() is None


def test_the_goal_table_names_the_kernels_beside_numpys_verdict_and_says_how_to_time_its_own(
        monkeypatch, capsys, running):
    monkeypatch.setenv(threads.CORETYPE, running)
    monkeypatch.setattr(batched, "own_kernels", lambda: "Zen9000")
    # A measured ceiling takes minutes; the table's wording is what is checked here.
    measured = batched.floors.Ceiling(0.0, {1 << 20: 250.0}, {1 << 20: 240.0})
    batched.goals({"numpy": (1 << 20, 230.0), "tensor": (1 << 20, 230.0)}, {"numpy": measured, "tensor": measured})
    lines = capsys.readouterr().out.splitlines()
    numpy_row = next(line for line in lines if line.startswith("numpy "))
    tensor_row = next(line for line in lines if line.startswith("tensor "))
    assert f"1024 KB chunks, {running} kernels" in numpy_row
    assert "kernels" not in tensor_row
    assert lines[-1].startswith(f"numpy: its OpenBLAS ran {running} kernels, as {threads.CORETYPE}={running}")
    assert "not the Zen9000 kernels" in lines[-1]
    assert lines[-1].endswith(f"env -u {threads.CORETYPE} -u OPENBLAS_L2_SIZE make bench")
