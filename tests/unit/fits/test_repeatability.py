"""A seed replays a fit exactly, another seed does not, and the process's random state is left alone."""
import random

import numpy as np
import pytest
import torch

from fits import registry

RANDOM_INIT_LOOPS = ["numpy", "tensor", "autograd", "nn", "optim", "module", "dynamic"]


def short(params, variant, seed):
    return params(variant, seed=seed, steps=200, log_every=20)


@pytest.mark.parametrize("variant", RANDOM_INIT_LOOPS)
def test_same_seed_same_history_other_seed_other_history(variant, params):
    first = registry.run(variant, short(params, variant, 7))
    again = registry.run(variant, short(params, variant, 7))
    other = registry.run(variant, short(params, variant, 8))

    assert len(first.loss_history) == 10
    assert again.loss_history == first.loss_history
    assert again.coefficients == first.coefficients
    assert other.loss_history != first.loss_history


@pytest.mark.parametrize("variant", RANDOM_INIT_LOOPS)
def test_global_random_state_is_untouched(variant, params):
    torch_state = torch.random.get_rng_state()
    numpy_state, python_state = np.random.get_state(), random.getstate()

    registry.run(variant, params(variant, steps=5, log_every=5))

    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    assert random.getstate() == python_state
