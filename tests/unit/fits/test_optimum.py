"""fits/optimum.py: the least-squares optimum the worker stores with every result, against the lstsq variant."""
import pytest

from fits import lstsq
from fits.optimum import excess, optimum


@pytest.mark.parametrize("samples", [4, 5, 17, 2000, 100_000])
def test_the_float64_optimum_is_the_lstsq_variants_answer(samples):
    exact = lstsq.fit(samples=samples, seed=0, dtype="float64", device="cpu")
    mine = optimum(samples, "float64")
    assert list(mine.polynomial) == pytest.approx(exact.polynomial, rel=1e-9, abs=1e-12)
    assert mine.loss == pytest.approx(exact.final_loss, rel=1e-9, abs=1e-20)


def test_the_float32_lstsq_job_sits_on_the_optimum_of_its_own_points():
    exact = lstsq.fit(samples=2000, seed=0, dtype="float32", device="cpu").final_loss
    assert exact == pytest.approx(optimum(2000, "float32").loss, rel=1e-5)
    assert optimum(2000, "float64").loss == pytest.approx(8.817165410007, rel=1e-12)
    # float32's points are not float64's, but the floor on them is the same to float32's precision.
    assert optimum(2000, "float32").loss == pytest.approx(optimum(2000, "float64").loss, rel=1e-6)


def test_below_four_points_a_cubic_fits_exactly():
    assert optimum(2).loss == optimum(3).loss == 0.0 and optimum(3).polynomial is None
    assert excess(1.0, optimum(3)) == {"optimum_loss": 0.0, "excess_loss": 1.0, "relative_excess_loss": None}


def test_excess_is_absolute_and_relative():
    best = optimum(2000)
    got = excess(2 * best.loss, best)
    assert got["excess_loss"] == pytest.approx(best.loss) and got["relative_excess_loss"] == pytest.approx(1.0)
    assert excess(None, best) == {"optimum_loss": best.loss, "excess_loss": None, "relative_excess_loss": None}
