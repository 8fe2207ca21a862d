"""power_rows: one product and one sum give the seed's term-by-term numbers, bit for bit."""
import math

import numpy as np
import pytest
import torch

from fits.data import power_rows


def seed_sums(b, x, y):
    # The seed programs' arithmetic, one term at a time.
    y_pred = b[0] + b[1] * x + b[2] * x ** 2 + b[3] * x ** 3
    grad = 2.0 * (y_pred - y)
    return y_pred, [grad.sum(), (grad * x).sum(), (grad * x ** 2).sum(), (grad * x ** 3).sum()]


@pytest.fixture
def one_thread():
    # Past 32768 points torch splits a long sum across its threads, and a sum along rows differently
    # from a sum of one row alone: the same bits hold on one thread (the workers' default).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("samples", [2, 7, 50, 2000, 4097, 40_000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_rows_sum_as_the_seed_adds_term_by_term(lib, dtype, samples, one_thread):
    if lib == "numpy":
        x = np.linspace(-math.pi, math.pi, samples, dtype=dtype)
        b = np.random.RandomState(samples).randn(4, 1).astype(dtype)
    else:
        x = torch.linspace(-math.pi, math.pi, samples, dtype=getattr(torch, dtype))
        b = torch.randn(4, 1, generator=torch.Generator().manual_seed(samples), dtype=x.dtype)
    y = x * 0.5
    rows = power_rows(x, 3)

    y_pred = (b * rows).sum(0)
    grads = ((2.0 * (y_pred - y)) * rows).sum(1)

    seed_pred, seed_grads = seed_sums(b[:, 0], x, y)
    assert rows.shape == (4, samples)
    assert (y_pred == seed_pred).all()
    assert [float(g) for g in grads] == [float(g) for g in seed_grads]
