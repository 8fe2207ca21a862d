"""The seed notebook's own programs, as bench.seed_programs runs them, against fitq: the same losses.

test_seed_programs.py checks hand-made copies at many points; this runs the notebook's text itself at
the defaults, as the benchmark does, and compares its printout with fitq's history bit for bit.
"""
import numpy as np
import pytest
import torch

from bench import seed_programs
from bench.loops import fitq_params
from fits import registry

VARIANTS = ["numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module"]
# Skipped without the notebook, failed without it in CI (tests/unit/conftest.py).
notebook = pytest.mark.usefixtures("seed_notebook")


@pytest.fixture
def global_generators_kept():
    # The seed programs draw from (and bench.seed_programs seeds) the global generators.
    state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    np.random.set_state(state)


def test_the_notebook_cell_text_is_split_into_code_and_output():
    text = "### A heading\n\nIn [1]:\nimport numpy\nx = 1\n\ny = 2\n\n99 2800.5\n1999 10.6\n\n\n### Next\n"

    assert seed_programs._code_of(text.split("In [1]:\n")[1]) == "import numpy\nx = 1\n\ny = 2\n"


@notebook
def test_every_variant_has_exactly_one_program():
    programs = seed_programs.programs()

    assert sorted(programs) == sorted(VARIANTS)
    assert all("for t in range(2000):" in code for code in programs.values())


@notebook
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_seed_program_prints_what_fitq_logs(variant, global_generators_kept):
    seed = 3
    ran = seed_programs.run(variant, seed_programs.programs()[variant], seed=seed, device="cpu")

    result = registry.run(variant, fitq_params(variant, "cpu", seed=seed))

    assert len(ran.losses) == 20 and ran.loop_s > 0
    assert ran.losses == result.loss_history
