"""A loop stops itself: past its deadline (FitTimeout) and at the first NaN or infinite logged loss."""
import math
import time

import pytest

from fits import registry
from fits.errors import FitTimeout

LOOPS = ["numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module", "dynamic"]


@pytest.mark.parametrize("variant", LOOPS)
def test_a_loop_past_its_deadline_raises_fit_timeout(variant, params):
    started = time.monotonic()
    with pytest.raises(FitTimeout) as caught:
        registry.run(variant, params(variant, steps=1_000_000, samples=50, log_every=1_000_000),
                     deadline=time.monotonic() + 0.3)

    assert time.monotonic() - started < 20  # run to the end, it would take minutes
    # Set-up counts against the budget too (the first torch.optim import can eat all of it).
    assert 0 <= caught.value.step < 1_000_000 and caught.value.steps == 1_000_000


def test_a_deadline_in_the_past_stops_before_the_first_step(params):
    with pytest.raises(FitTimeout) as caught:
        registry.run("autograd", params("autograd"), deadline=time.monotonic() - 1)

    assert caught.value.step == 0


def test_a_deadline_far_away_changes_nothing(params):
    alone = registry.run("tensor", params("tensor", steps=300))
    budgeted = registry.run("tensor", params("tensor", steps=300), deadline=time.monotonic() + 60)

    assert budgeted.loss_history == alone.loss_history


# RMSprop moves a weight at most 10 lr a step: only a huge rate overflows it within 2000 steps.
DIVERGING_RATE = {"optim": 1e16}


@pytest.mark.parametrize("variant", LOOPS)
def test_a_diverging_loop_stops_at_its_first_non_finite_logged_loss(variant, params):
    calls = []
    rate = DIVERGING_RATE.get(variant, 1.0)
    result = registry.run(variant, params(variant, learning_rate=rate, steps=2000, log_every=10),
                          on_progress=lambda *a: calls.append(a))

    losses = [loss for _, loss in result.loss_history]
    assert not math.isfinite(losses[-1]) and all(math.isfinite(v) for v in losses[:-1])
    assert result.loss_history[-1][0] < 1999  # it stopped early, not after all 2000 steps
    assert not math.isfinite(result.final_loss)
    assert len(calls) == len(losses) - 1  # no progress is reported for the non-finite point
