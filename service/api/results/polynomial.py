"""A fit's power-basis polynomial c0 + c1 x + c2 x^2 + ... evaluated in plain Python floats."""
import math


def value(coefficients, x: float) -> float:
    """The polynomial at x by Horner's rule; overflow gives inf or nan, never an exception."""
    total = 0.0
    for c in reversed(coefficients):
        total = total * x + c
    return total


def finite_value(coefficients, x: float) -> float | None:
    """The polynomial at x, or None where it is not finite (a null coefficient, an overflow)."""
    if any(c is None for c in coefficients):
        return None
    y = value(coefficients, x)
    return y if math.isfinite(y) else None

