"""The custom_function variant against the seed's printout, and its power-basis expansion."""
import re

import numpy as np
import pytest
import torch

from fits import legendre, registry

# The seed's LegendrePolynomial3 program printed these (on CUDA); the CPU reproduces them to ~1e-6.
SEED_LOSSES = [
    209.95834350585938, 144.66018676757812, 100.70249938964844, 71.03520202636719, 50.978511810302734,
    37.40313720703125, 28.20686912536621, 21.973186492919922, 17.745729446411133, 14.877889633178711,
    12.931766510009766, 11.610918998718262, 10.714248657226562, 10.105475425720215, 9.692106246948242,
    9.411375045776367, 9.220745086669922, 9.091285705566406, 9.003361701965332, 8.94364070892334,
]
SEED_COEFFICIENTS = [1.2777713782885503e-11, -2.208526849746704, -2.5764071431844116e-10, 0.2554861009120941]


def test_defaults_reproduce_the_seed_printout(params):
    result = registry.run("custom_function", params("custom_function", device="cpu"))

    assert [step for step, _ in result.loss_history] == list(range(99, 2000, 100))
    assert [loss for _, loss in result.loss_history] == pytest.approx(SEED_LOSSES, rel=1e-5)
    assert result.final_loss == pytest.approx(SEED_LOSSES[-1], rel=1e-5)
    assert list(result.coefficients.values()) == pytest.approx(SEED_COEFFICIENTS, abs=1e-4)


def test_formula_names_the_model_not_the_seed_misprint(params):
    result = registry.run("custom_function", params("custom_function", steps=10, log_every=10))

    # y = b0 +/- |b1| * P3(b2 +/- |b3| x): the seed printed P3(b2 x^2 + b3 x), which is not the model.
    shape = r"y = (\S+) ([+-]) (\S+) \* P3\((\S+) ([+-]) (\S+) x\), P3\(u\) = .*"
    match = re.fullmatch(shape, result.formula)
    assert match, result.formula
    b0, s1, b1, b2, s3, b3 = match.groups()
    sign = {"+": 1.0, "-": -1.0}
    printed = [float(b0), sign[s1] * float(b1), float(b2), sign[s3] * float(b3)]
    assert printed == list(result.coefficients.values())


@pytest.mark.parametrize("b", [(0.3, -1.2, 0.4, 0.7), (1e-3, -2.2, -0.25, 0.26), (0.0, -1.0, 0.0, 0.3)])
def test_power_basis_expands_the_legendre_model(b):
    x = torch.linspace(-np.pi, np.pi, 101, dtype=torch.float64)
    b0, b1, b2, b3 = (torch.tensor(v, dtype=torch.float64) for v in b)
    model = b0 + b1 * legendre.LegendrePolynomial3.apply(b2 + b3 * x)

    expanded = np.polynomial.polynomial.polyval(x.numpy(), legendre.power_basis(b))

    np.testing.assert_allclose(expanded, model.numpy(), rtol=1e-12, atol=1e-12)
