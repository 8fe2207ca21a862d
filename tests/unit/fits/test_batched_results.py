"""A batched pass's results, built all at once, against the ones each job's solo fit would build."""
import math
import random

import pytest

from fits import legendre
from fits.batched.run import results
from fits.loop import Trace
from fits.result import FitResult

# Values whose text or sign handling could differ: zero and minus zero, NaN, infinities, tiny and huge
# (not past 1e102: legendre.power_basis cubes them, and a Python float ** that overflows raises).
SPECIAL = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-300, -5e-324, 1.5e100, -2.5, 1 / 3]


def runs(count, width=4):
    """(parameters, trace) pairs with random and special values, some histories cut short."""
    draw = random.Random(15)
    out = []
    for _ in range(count):
        values = [draw.choice(SPECIAL) if draw.random() < 0.2 else draw.gauss(0, 10 ** draw.randint(-8, 8))
                  for _ in range(width)]
        points = [(t, draw.choice(SPECIAL) if draw.random() < 0.05 else draw.random()) for t in range(9, 200, 10)]
        out.append((values, Trace(points[:draw.randint(0, len(points))], draw.choice([draw.random(), math.nan]),
                                  0.25)))
    return out


def one_by_one(variant, pairs, device):
    """How run_batch built each result before issue 15: as the variant's solo fit does."""
    if variant == "custom_function":
        return [FitResult.of(values, legendre.power_basis(values), legendre.formula(values), trace, device)
                for values, trace in pairs]
    return [FitResult.power_series(values, trace, device) for values, trace in pairs]


def old_to_dict(result):
    """FitResult.to_dict before its all-finite shortcut."""
    def finite(value):
        return value if math.isfinite(value) else None
    return {"coefficients": {name: finite(v) for name, v in result.coefficients.items()},
            "polynomial": [finite(c) for c in result.polynomial], "formula": result.formula,
            "final_loss": finite(result.final_loss),
            "loss_history": [{"step": s, "loss": finite(v)} for s, v in result.loss_history],
            "duration_s": result.duration_s, "device": result.device}


@pytest.mark.parametrize("variant", ["tensor", "custom_function"])
def test_results_equal_the_per_job_ones(variant):
    pairs = runs(2000)
    # repr shows every float's exact value and treats NaN as equal to itself, as == would not.
    assert repr(results(variant, pairs, "cpu")) == repr(one_by_one(variant, pairs, "cpu"))


@pytest.mark.parametrize("width", [1, 2, 5])
def test_power_series_of_any_length(width):
    pairs = runs(200, width)
    assert repr(results("numpy", pairs, "cuda")) == repr(one_by_one("numpy", pairs, "cuda"))


def test_no_jobs_no_results():
    assert results("tensor", [], "cpu") == []


@pytest.mark.parametrize("variant", ["tensor", "custom_function"])
def test_to_dict_as_before(variant):
    for result in results(variant, runs(2000), "cpu"):
        assert repr(result.to_dict()) == repr(old_to_dict(result))


def test_to_dict_shortcut_and_overflow():
    trace = Trace([(9, 1e308), (19, 1e308)], 0.5, 0.1)  # finite terms whose sum overflows
    result = FitResult.power_series([1.0, -2.0, 3.0, 1e308], trace, "cpu")
    assert result.to_dict() == old_to_dict(result)
    assert result.to_dict()["loss_history"] == [{"step": 9, "loss": 1e308}, {"step": 19, "loss": 1e308}]
