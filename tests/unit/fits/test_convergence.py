"""Every loop against the exact least-squares optimum, and lstsq against numpy's."""
import math

import numpy as np
import pytest

from fits import registry

OPTIMUM = 8.817  # least-squares loss of the cubic on the default data
RANDOM_CUBIC_LOOPS = ["numpy", "tensor", "autograd", "nn", "optim", "module"]


def numpy_optimum(samples=2000):
    x = np.linspace(-math.pi, math.pi, samples)
    design = np.stack([x ** k for k in range(4)], axis=1)
    _, residual, _, _ = np.linalg.lstsq(design, np.sin(x), rcond=None)
    return float(residual[0])


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("variant", RANDOM_CUBIC_LOOPS)
def test_random_init_loop_ends_within_three_times_the_optimum(variant, seed, params):
    result = registry.run(variant, params(variant, seed=seed))

    assert result.final_loss < 3 * numpy_optimum()


def test_custom_function_ends_within_three_times_the_optimum(params):
    # Its start is fixed, so the seed changes nothing: one run covers seeds 0..9.
    result = registry.run("custom_function", params("custom_function"))

    assert result.final_loss < 3 * numpy_optimum()


def test_dynamic_ends_within_three_times_the_optimum(dynamic_run):
    result, _ = dynamic_run

    assert result.final_loss < 3 * numpy_optimum()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstsq_finds_the_optimum(dtype, params):
    reference = numpy_optimum()

    result = registry.run("lstsq", params("lstsq", dtype=dtype))

    assert reference == pytest.approx(OPTIMUM, rel=1e-3)
    assert result.final_loss == pytest.approx(reference, rel=1e-3)
    assert result.loss_history == []
    assert result.polynomial == list(result.coefficients.values())


def test_lstsq_reports_progress_once_at_the_end(params):
    calls = []

    result = registry.run("lstsq", params("lstsq"), on_progress=lambda *a: calls.append(a))

    assert calls == [(1, 1, result.final_loss)]
