"""The least-squares cubic for y = sin(x) on the points every fit uses, in pure Python (no numpy)."""
import math
from dataclasses import dataclass
from functools import lru_cache

from service.api.results.polynomial import value

DEGREE = 3  # the cubic every variant but dynamic fits, and the one lstsq solves for


@dataclass(frozen=True)
class Optimum:
    """The best cubic on `samples` points: its power-basis coefficients and its sum-of-squares loss."""

    samples: int
    polynomial: tuple | None  # None below four points, where many cubics fit exactly
    loss: float


def points(samples: int) -> list:
    """x = linspace(-pi, pi, samples), each point stepped from its nearer end as torch.linspace does
    (equal to torch's to the last bit or two)."""
    step = 2 * math.pi / (samples - 1)
    half = samples // 2
    return [-math.pi + step * i if i < half else math.pi - step * (samples - 1 - i) for i in range(samples)]


@lru_cache(maxsize=64)
def optimum(samples: int) -> Optimum:
    """The lstsq variant's answer for `samples` points, from the 4x4 normal equations in float64."""
    if samples < DEGREE + 1:  # more coefficients than points: a cubic passes through them all
        return Optimum(samples, None, 0.0)
    xs = points(samples)
    coefficients = _solve(_normal(xs))
    loss = math.fsum((value(coefficients, x) - math.sin(x)) ** 2 for x in xs)
    return Optimum(samples, tuple(coefficients), loss)


def _normal(xs):
    # In u = x / pi, so that the powers stay near 1 and the system is well conditioned; the rows
    # are sums of u^(i+j) and the right-hand side sums of u^i sin(x), accumulated exactly (fsum).
    us, ys = [x / math.pi for x in xs], [math.sin(x) for x in xs]
    moments = [math.fsum(u ** k for u in us) for k in range(2 * DEGREE + 1)]
    rhs = [math.fsum(u ** k * y for u, y in zip(us, ys)) for k in range(DEGREE + 1)]
    return [[moments[i + j] for j in range(DEGREE + 1)] + [rhs[i]] for i in range(DEGREE + 1)]


def _solve(augmented):
    # Gaussian elimination with partial pivoting, then back in the x basis: c_k = d_k / pi^k.
    a, n = [row[:] for row in augmented], len(augmented)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            a[r] = [v - factor * p for v, p in zip(a[r], a[col])]
    d = [0.0] * n
    for r in reversed(range(n)):
        d[r] = (a[r][n] - sum(a[r][k] * d[k] for k in range(r + 1, n))) / a[r][r]
    return [d_k / math.pi ** k for k, d_k in enumerate(d)]
