"""A batched pass that prunes: a pruned job's history ends at the point it was pruned, the others run on
exactly as they would have, and its slot leaves the batch."""
import pytest

from fits import batched
from fits.batched import variants as bv
from fits.params import resolve

JOBS = [resolve("tensor", {"steps": 300, "samples": 200, "log_every": 50, "seed": s, "learning_rate": 2e-6})
        for s in range(4)]


def test_pruned_jobs_keep_their_history_to_the_rung_and_the_rest_match_the_unpruned_pass():
    asked = []

    def prune(step, losses):
        asked.append((step, len(losses)))
        return {1, 3} if step == 100 else set()

    full = batched.run_batch("tensor", JOBS)
    pruned = batched.run_batch("tensor", JOBS, prune=prune)

    assert [step for step, _ in asked] == [50, 100, 150, 200, 250, 300]
    for j in (1, 3):
        assert [s for s, _ in pruned[j].loss_history] == [49, 99]
        assert pruned[j].loss_history == full[j].loss_history[:2]  # the same pass, up to there
        assert pruned[j].final_loss == pruned[j].loss_history[-1][1]
    for j in (0, 2):
        assert [v for _, v in pruned[j].loss_history] == pytest.approx([v for _, v in full[j].loss_history],
                                                                       rel=1e-6)
        assert pruned[j].final_loss == pytest.approx(full[j].final_loss, rel=1e-6)
        assert pruned[j].coefficients == pytest.approx(full[j].coefficients, rel=1e-6)


def test_a_pruned_slot_leaves_the_tensor_batch():
    data = batched.run.sine(200, "float32", "cpu")
    chunk = bv.tensor_cubics(JOBS, data)
    kept = chunk.keep([0, 2])

    assert kept.values().tolist() == chunk.values()[[0, 2]].tolist()
    assert kept.step(True).shape == (2,) and chunk.step(True).shape == (4,)


def test_pruning_every_job_ends_the_pass():
    results = batched.run_batch("tensor", JOBS, prune=lambda step, losses: set(range(4)))

    assert all(len(r.loss_history) == 1 for r in results)
