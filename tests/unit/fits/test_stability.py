"""fits/stability.py: λmax of the loss's Hessian in pure Python (closed-form moments, Jacobi rotations)
against numpy's eigvalsh on the points fits/data.py really makes."""
import numpy as np
import pytest

from fits import stability
from fits.data import sine


def _design(samples, dtype, columns):
    x = sine(samples, dtype, "cpu").x.double().numpy()
    return np.stack([sum(c * x ** k for k, c in column.items()) for column in columns], 1)


def _lambda_max(design):
    return np.linalg.eigvalsh(2 * design.T @ design)[-1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("samples", [2, 3, 7, 500, 2000, 100_000])
def test_the_cubic_curvature_is_numpys_on_the_jobs_points(samples, dtype):
    expected = _lambda_max(_design(samples, dtype, stability.CUBIC))
    # float64: the same points to the last bit; float32: each point's rounding moves λmax a little.
    assert stability.curvature(samples, dtype) == pytest.approx(expected, rel=1e-12 if dtype == "float64" else 1e-7)


@pytest.mark.parametrize("samples", [4, 2000, 30_000])
def test_the_dynamic_curvature_is_the_largest_over_its_three_draws(samples):
    expected = max(_lambda_max(_design(samples, "float32", draw)) for draw in stability.DRAWS)
    assert stability.curvature(samples, "float32", "dynamic") == pytest.approx(expected, rel=1e-7)


def test_jacobi_finds_the_largest_eigenvalue_of_any_symmetric_matrix():
    rng = np.random.default_rng(0)
    for n in (1, 2, 4, 6):
        a = rng.standard_normal((n, n))
        a = a + a.T
        assert stability.largest_eigenvalue(a.tolist()) == pytest.approx(np.linalg.eigvalsh(a)[-1], abs=1e-12)


def test_limits_follow_the_update_rule():
    lam = stability.curvature(2000, "float32")
    for variant in stability.PLAIN:
        assert stability.learning_rate_limit(variant, 2000, "float32") == 2 / lam
    dynamic = stability.curvature(2000, "float32", "dynamic")
    assert stability.learning_rate_limit("dynamic", 2000, "float32") == pytest.approx(2 * 1.9 / dynamic)
    # The seed's learning rates are stable: 1e-6 against about 3.56e-6; dynamic's 1e-8 against about 9.8e-8.
    assert stability.learning_rate_limit("tensor", 2000, "float32") == pytest.approx(3.5579e-6, rel=1e-4)
    assert stability.learning_rate_limit("dynamic", 2000, "float32") == pytest.approx(9.758e-8, rel=1e-3)
    for variant in ("optim", "custom_function", "lstsq"):
        assert stability.learning_rate_limit(variant, 2000, "float32") is None


def test_a_million_points_costs_no_pass_over_them():
    # Closed form: the same answer as numpy's at the largest samples a job may have.
    expected = _lambda_max(_design(1_000_000, "float64", stability.CUBIC))
    assert stability.curvature(1_000_000, "float64") == pytest.approx(expected, rel=1e-12)
