"""The largest stable learning rate of the gradient-descent variants, from the loss's Hessian on the job's
points: pure Python (no torch, no numpy), so that the API can say it before a job runs."""
from __future__ import annotations

import math
import struct
from functools import lru_cache

# Plain gradient descent on sum((P b - y)^2): the seed's loops, each with its own update mechanism.
PLAIN = ("numpy", "tensor", "autograd", "nn", "module")
MOMENTUM = {"dynamic": 0.9}  # SGD with momentum, and its momentum (fits/dynamic.py)


def end_point(dtype: str) -> float:
    """pi as the job's points hold it: rounded to the dtype (float32's pi is 8.7e-8 above the true one)."""
    if dtype == "float32":
        return float(struct.unpack("f", struct.pack("f", math.pi))[0])
    if dtype == "float64":
        return math.pi
    raise ValueError(f"unknown dtype {dtype!r}")


def moments(samples: int, top: int, dtype: str = "float64") -> list[float]:
    """sum(x ** k) for k = 0..top over x = linspace(-pi, pi, samples), in closed form.

    x_i = c (2i - (n-1)) with c = pi / (n - 1), pi rounded to the dtype as torch.linspace starts from it;
    the sums of (2i - (n-1)) ** k are exact integers (Faulhaber), so there is no cancellation and no pass
    over a million points. Each point's own rounding to the dtype is left out: it moves λmax by well
    under 1e-7 relative at float32 (tests/unit/fits/test_stability.py). torch's points themselves depend
    on the CPU's vector width (and differ on CUDA), so no formula could match them bit for bit."""
    n = samples
    if n < 2:
        raise ValueError("samples must be at least 2")
    # S[j] = sum of i ** j for i < n, from n ** (j+1) = sum over m <= j of C(j+1, m) S[m].
    s: list[int] = []
    for j in range(top + 1):
        s.append((n ** (j + 1) - sum(math.comb(j + 1, m) * s[m] for m in range(j))) // (j + 1))
    c = end_point(dtype) / (n - 1)
    return [float(sum(math.comb(k, j) * 2 ** j * s[j] * (1 - n) ** (k - j) for j in range(k + 1))) * c ** k
            for k in range(top + 1)]


def largest_eigenvalue(matrix: list[list[float]], sweeps: int = 50) -> float:
    """The largest eigenvalue of a small symmetric matrix, by cyclic Jacobi rotations."""
    a = [list(map(float, row)) for row in matrix]
    n = len(a)
    for _ in range(sweeps):
        off = sum(a[i][j] ** 2 for i in range(n) for j in range(n) if i != j)
        if off <= 1e-30 * sum(a[i][i] ** 2 for i in range(n)):
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                if a[p][q] == 0.0:
                    continue
                # The rotation that zeroes a[p][q] (Golub and Van Loan, 8.5.2): the smaller angle.
                theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                t = math.copysign(1.0, theta) / (abs(theta) + math.hypot(1.0, theta))
                c = 1 / math.hypot(1.0, t)
                s = t * c
                for k in range(n):  # columns p, q
                    akp, akq = a[k][p], a[k][q]
                    a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
                for k in range(n):  # rows p, q
                    apk, aqk = a[p][k], a[q][k]
                    a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
    return max(a[i][i] for i in range(n))


def hessian(columns: list[dict[int, float]], m: list[float]) -> list[list[float]]:
    """2 P^T P, the Hessian of sum((P b - y)^2), for the design P whose columns are polynomials in x
    ({power: coefficient}), from the moments m[k] = sum(x ** k)."""
    return [[2 * sum(a * b * m[i + j] for i, a in u.items() for j, b in v.items()) for v in columns]
            for u in columns]


CUBIC = [{0: 1.0}, {1: 1.0}, {2: 1.0}, {3: 1.0}]
# DynamicNet's three draws: the cubic; plus e x^4; plus e (x^4 + x^5) (e shared, fits/dynamic.py).
DRAWS = (CUBIC, [*CUBIC, {4: 1.0}], [*CUBIC, {4: 1.0, 5: 1.0}])


@lru_cache(maxsize=256)
def curvature(samples: int, dtype: str = "float64", model: str = "cubic") -> float:
    """λmax of the loss's Hessian on `samples` points: of the cubic, or ("dynamic") the largest over
    DynamicNet's three draws."""
    if model == "cubic":
        return largest_eigenvalue(hessian(CUBIC, moments(samples, 6, dtype)))
    m = moments(samples, 10, dtype)
    return max(largest_eigenvalue(hessian(draw, m)) for draw in DRAWS)


def learning_rate_limit(variant: str, samples: int, dtype: str) -> float | None:
    """The largest stable learning rate of `variant` on `samples` points of `dtype`: 2/λmax for plain gradient
    descent, 2(1 + μ)/λmax with momentum μ; None for variants it does not cover (or below 2 points)."""
    if samples < 2:
        return None
    if variant in PLAIN:
        return 2 / curvature(samples, dtype)
    if variant in MOMENTUM:
        return 2 * (1 + MOMENTUM[variant]) / curvature(samples, dtype, "dynamic")
    return None
