"""A batched pass that prunes: a pruned job's history ends at the point it was pruned, the others run on
exactly as they would have, and its slot leaves the batch, for every batchable variant."""
import pytest
import torch

from fits import batched
from fits.batched import models, updates
from fits.batched.chunking import Tuner
from fits.batched.updates import Stepper
from fits.params import resolve

VARIANTS = sorted(batched.BUILDERS)
# Each variant's stable rate at 200 samples; where the batch key allows, job j's is (1 + j/4) times it, so
# that a kept row must keep its own rate.
RATES = {"autograd": 2e-6, "custom_function": 5e-6, "module": 2e-6, "nn": 2e-6, "numpy": 2e-6, "optim": 1e-3,
         "tensor": 2e-6}
PER_JOB_RATE = {"autograd", "custom_function", "nn", "numpy", "tensor"}
# Against the unpruned pass, the batched tolerances of test_batched.py: custom_function is elementwise
# (bit for bit), numpy float64, the rest float32 (measured at most 2e-7 here). optim: 1e-5, its bound
# for the early points in test_batched.py. RMSprop divides by its running RMS and so amplifies
# rounding: a job left alone in its chunk (a 1-row product rounds otherwise) was measured 3.5e-6 from
# the unpruned pass by step 249, and chunks of 2 instead of 6 already move it 1.2e-5. Lost state (a
# square_avg reset) moves it by far more.
REL = {"custom_function": 0, "numpy": 1e-14, "optim": 1e-5}


def rel(variant):
    return REL.get(variant, 1e-6)


def jobs(variant, count=4, **overrides):
    """`count` short jobs of one batch key: seeds 0, 1, ..., rates spread where the key allows."""
    shape = {"steps": 300, "samples": 200, "log_every": 50, **overrides}
    if variant == "numpy":
        shape["dtype"] = "float64"
    return [resolve(variant, {**shape, "seed": j,
                              "learning_rate": RATES[variant] * (1 + j / 4 * (variant in PER_JOB_RATE))})
            for j in range(count)]


def chunk_of(variant, batch):
    data = batched.run.bv.numpy_data(200, "float64") if variant == "numpy" else \
        batched.run.sine(200, "float32", "cpu")
    return batched.BUILDERS[variant](batch, data)


def rows(values):
    return torch.as_tensor(values).tolist()


def flat(values):
    return torch.as_tensor(values).reshape(-1).tolist()


def assert_same_run(result, full, tolerance):
    assert [t for t, _ in result.loss_history] == [t for t, _ in full.loss_history]
    if tolerance == 0:
        assert (result.loss_history, result.final_loss, result.coefficients) == \
            (full.loss_history, full.final_loss, full.coefficients)
    else:
        assert [v for _, v in result.loss_history] == pytest.approx([v for _, v in full.loss_history], rel=tolerance)
        assert result.final_loss == pytest.approx(full.final_loss, rel=tolerance)
        # abs too: a coefficient near 0 carries the rounding of the O(1) ones.
        assert list(result.coefficients.values()) == pytest.approx(list(full.coefficients.values()), rel=tolerance,
                                                                   abs=tolerance)


def at(schedule):
    """A pruner that stops schedule[step] at that step, and records what it was asked."""
    def prune(step, losses):
        prune.asked.append((step, len(losses)))
        return set(schedule.get(step, ()))
    prune.asked = []
    return prune


@pytest.fixture(autouse=True)
def one_torch_thread():
    """As workers run fits: one torch thread (see test_batched.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("variant", VARIANTS)
def test_pruned_jobs_keep_their_history_to_the_rung_and_the_rest_match_the_unpruned_pass(variant):
    batch = jobs(variant, count=5)
    prune = at({100: {1, 3}, 200: {4}})  # the second rung keeps rows of an already kept Stepper

    full = batched.run_batch(variant, batch)
    pruned = batched.run_batch(variant, batch, prune=prune)

    assert prune.asked == [(s, 5) for s in (50, 100, 150, 200, 250, 300)]
    for j, points in ((1, 2), (3, 2), (4, 4)):
        assert [s for s, _ in pruned[j].loss_history] == [49, 99, 149, 199][:points]
        assert pruned[j].loss_history[:2] == full[j].loss_history[:2]  # the same pass, up to the first rung
        assert [v for _, v in pruned[j].loss_history] == \
            pytest.approx([v for _, v in full[j].loss_history[:points]], rel=rel(variant))
        assert pruned[j].final_loss == pruned[j].loss_history[-1][1]
    for j in (0, 2):
        assert_same_run(pruned[j], full[j], rel(variant))


@pytest.mark.parametrize("variant", VARIANTS)
def test_keep_gives_a_stepper_of_the_kept_rows_that_goes_on_as_they_would_have(variant):
    chunk = chunk_of(variant, jobs(variant))
    for _ in range(3):  # so that optimizer state (RMSprop's square_avg, its step count) exists
        chunk.step(False)

    kept = chunk.keep([0, 2])

    assert rows(kept.values()) == [rows(chunk.values())[j] for j in (0, 2)]
    losses, before = kept.step(True), chunk.step(True)
    assert tuple(losses.shape) == (2,) and tuple(before.shape) == (4,)
    assert rows(losses) == pytest.approx([rows(before)[j] for j in (0, 2)], rel=rel(variant))
    for _ in range(20):
        kept.step(False)
        chunk.step(False)
    assert flat(kept.values()) == pytest.approx(flat(chunk.values()[[0, 2]]), rel=rel(variant), abs=rel(variant))


def counted(stepper: Stepper, sizes: list) -> Stepper:
    """stepper, recording how many rows each of its steps updates (and those of the Steppers it keeps)."""
    def step(want_loss):
        sizes.append(len(stepper.values()))
        return stepper.step(want_loss)
    return Stepper(step, stepper.values, lambda kept: counted(stepper.keep(kept), sizes))


@pytest.mark.parametrize("variant", VARIANTS)
def test_after_pruning_the_pass_steps_only_the_remaining_rows(variant):
    sizes: list[int] = []
    chunk = counted(chunk_of(variant, jobs(variant)), sizes)

    batched.run.train_batch([chunk], 4, steps=300, log_every=50, prune=at({100: {1, 3}}))

    assert sizes == [4] * 100 + [2] * 200


@pytest.mark.parametrize("variant", VARIANTS)
def test_rows_leave_each_of_several_chunks(variant, monkeypatch):
    # Chunks of two jobs: at 100 jobs 1, 2 and 3 go (the first chunk shrinks, the second goes), at 200
    # job 5 (the third chunk shrinks).
    row_bytes = 200 * (8 if variant == "numpy" else 4)
    pairs = Tuner((2 * row_bytes,))
    batch = jobs(variant, count=6)
    sizes: list[int] = []
    build = batched.BUILDERS[variant]
    monkeypatch.setitem(batched.BUILDERS, variant, lambda part, data: counted(build(part, data), sizes))

    full = batched.run_batch(variant, batch, chunking=pairs)
    steps_full, sizes[:] = len(sizes), []
    pruned = batched.run_batch(variant, batch, prune=at({100: {1, 2, 3}, 200: {5}}), chunking=pairs)

    # Each chunk takes the 50 steps to the next history point in turn (fits/batched/run.py).
    stretches = [[2, 2, 2]] * 2 + [[1, 2]] * 2 + [[1, 1]] * 2
    assert steps_full == 3 * 300 and sizes == [rows for chunk in stretches for rows in chunk for _ in range(50)]
    for j, points in ((1, 2), (2, 2), (3, 2), (5, 4)):
        assert pruned[j].loss_history[:2] == full[j].loss_history[:2]
        assert [v for _, v in pruned[j].loss_history] == \
            pytest.approx([v for _, v in full[j].loss_history[:points]], rel=rel(variant))
    for j in (0, 4):
        assert_same_run(pruned[j], full[j], rel(variant))


@pytest.mark.parametrize("variant", VARIANTS)
def test_pruning_at_the_last_history_point_ends_those_jobs_there(variant):
    batch = jobs(variant)

    full = batched.run_batch(variant, batch)
    pruned = batched.run_batch(variant, batch, prune=at({300: {1}}))

    assert pruned[1].loss_history == full[1].loss_history
    assert pruned[1].final_loss == full[1].final_loss
    assert [r.loss_history for r in pruned] == [r.loss_history for r in full]


def test_pruning_every_job_ends_the_pass():
    results = batched.run_batch("tensor", jobs("tensor"), prune=lambda step, losses: set(range(4)))

    assert all(len(r.loss_history) == 1 for r in results)


def test_kept_rmsprop_state_and_weights_keep_their_layout():
    # LinearRows' weight is column-major for a fast gradient product (models.LinearRows); RMSprop's
    # square_avg is made like its parameter. Kept rows must stay so, with the state cut, not reset.
    layer = models.LinearRows.holding(torch.randn(4, 3), torch.randn(4))
    optimizer = torch.optim.RMSprop(layer.parameters(), lr=1e-3, foreach=True)
    for _ in range(3):
        layer(torch.randn(3, 5)).pow(2).sum().backward()
        optimizer.step()

    kept = layer.kept([0, 2])
    after = updates.kept_optimizer(optimizer, list(kept.parameters()), [0, 2])

    assert kept.weight.stride() == (1, 2) and torch.equal(kept.weight, layer.weight[[0, 2]])
    state, old = after.state[kept.weight], optimizer.state[layer.weight]
    assert state["square_avg"].stride() == (1, 2) and torch.equal(state["square_avg"], old["square_avg"][[0, 2]])
    assert state["step"] == old["step"] == 3 and state["step"] is not old["step"]
    assert after.param_groups[0]["lr"] == 1e-3 and type(after) is torch.optim.RMSprop


def test_progress_after_a_rung_reports_a_pruned_jobs_loss_where_it_stopped():
    # The heartbeat stores each job's progress from these: a pruned job's stays at its rung.
    reported = []
    results = batched.run_batch("tensor", jobs("tensor"), prune=at({100: {1}}),
                                on_progress=lambda step, steps, losses: reported.append((step, losses[1])))

    rung = results[1].loss_history[-1][1]
    assert [loss for step, loss in reported if step > 100] == [rung] * 4
