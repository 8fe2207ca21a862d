"""Human-readable formulas for fitted models."""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def signed_sum(terms: Iterable[tuple[float, str]]) -> str:
    """Join (coefficient, suffix) terms as 'a + b x - c x^2', signs folded into the operators."""
    text = ""
    for i, (value, suffix) in enumerate(terms):
        if i == 0:
            number = repr(value)
        else:
            # value < 0 is False for NaN, which therefore prints as '+ nan'
            text += " - " if value < 0 else " + "
            number = repr(abs(value))
        text += f"{number} {suffix}".rstrip()
    return text


def power_series(coefficients: Sequence[float]) -> str:
    """The power series c0 + c1 x + c2 x^2 + ... (without 'y =')."""
    suffixes = ["", "x"] + [f"x^{k}" for k in range(2, len(coefficients))]
    return signed_sum(zip(coefficients, suffixes))


def power_formula(coefficients: Sequence[float]) -> str:
    """'y = c0 + c1 x + c2 x^2 + ...' for a power-basis model."""
    return "y = " + power_series(coefficients)


def power_formulas(rows: Sequence[Sequence[float]]) -> list[str]:
    """power_formula of each row of Python floats: the same text, built a column at a time (repr
    mapped over a column costs about half of repr called value by value) into one template."""
    if not rows:
        return []
    suffixes = (["x"] + [f"x^{k}" for k in range(2, len(rows[0]))])[:len(rows[0]) - 1]
    fill = ("y = {}" + "".join(f" {{}} {{}} {suffix}" for suffix in suffixes)).format
    return list(map(fill, *signed_columns(rows)))


def signed_columns(rows: Sequence[Sequence[float]]) -> list:
    """[repr(c0)s, sign1s, repr(|c1|)s, ...] column by column, as signed_sum writes each term
    ('+' before a NaN, as there)."""
    columns = list(zip(*rows))
    parts: list = [list(map(repr, columns[0]))]
    for column in columns[1:]:
        parts += (["-" if value < 0 else "+" for value in column], list(map(repr, map(abs, column))))
    return parts
