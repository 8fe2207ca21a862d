"""`polynomial` (the power basis) predicts what each variant's own model predicts."""
import math

import numpy as np
import pytest
import torch

from fits import dynamic, legendre, nn_sequential, polynomial_module, registry
from fits.data import Sample, powers

X = torch.linspace(-math.pi, math.pi, 201, dtype=torch.float64)
P = powers(X, 5)


def as_tensors(result):
    return [torch.tensor(v, dtype=torch.float64) for v in result.coefficients.values()]


def power_cubic(result):
    b = as_tensors(result)
    return b[0] + b[1] * X + b[2] * X ** 2 + b[3] * X ** 3


def sequential(result):
    model, xx = nn_sequential.build(0, Sample(X, torch.sin(X), torch.float64, torch.device("cpu")))
    b = list(result.coefficients.values())
    with torch.no_grad():
        model[0].bias.fill_(b[0])
        model[0].weight.copy_(torch.tensor([b[1:]]))
        return model(xx)


def module(result):
    with torch.no_grad():
        return polynomial_module.Polynomial3(as_tensors(result))(P)


def custom_function(result):
    b0, b1, b2, b3 = as_tensors(result)
    return b0 + b1 * legendre.LegendrePolynomial3.apply(b2 + b3 * X)


def dynamic_average(result):
    model = dynamic.DynamicNet(as_tensors(result), rng=None)
    with torch.no_grad():
        # randint(4, 6) draws stop 4, 5 and 6 equally often
        return sum(model.predict(P, stop) for stop in (4, 5, 6)) / 3


FORWARDS = {
    "numpy": power_cubic, "tensor": power_cubic, "autograd": power_cubic, "lstsq": power_cubic,
    "nn": sequential, "optim": sequential, "module": module,
    "custom_function": custom_function, "dynamic": dynamic_average,
}


@pytest.mark.parametrize("variant", sorted(FORWARDS))
def test_polynomial_predicts_like_the_model(variant, params):
    overrides = {} if variant == "lstsq" else {"steps": 300, "log_every": 100}
    result = registry.run(variant, params(variant, **overrides))

    expected = FORWARDS[variant](result)
    predicted = np.polynomial.polynomial.polyval(X.numpy(), result.polynomial)

    np.testing.assert_allclose(predicted, expected.numpy(), rtol=1e-9, atol=1e-9)


def test_dynamic_polynomial_averages_the_random_orders():
    a, b, c, d, e = 0.1, 0.8, -0.02, -0.09, 0.003
    model = dynamic.DynamicNet([torch.tensor(v, dtype=torch.float64) for v in (a, b, c, d, e)], rng=None)
    with torch.no_grad():
        average = sum(model.predict(P, stop) for stop in (4, 5, 6)) / 3

    predicted = np.polynomial.polynomial.polyval(X.numpy(), dynamic.expected_polynomial([a, b, c, d, e]))

    np.testing.assert_allclose(predicted, average.numpy(), rtol=1e-12, atol=1e-12)
