"""What a fit returns: coefficients, the fit in the power basis, and how the loss went."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fits.formula import power_formula
from fits.loop import Trace, scalar


@dataclass(frozen=True)
class FitResult:
    """The outcome of one fit, in the variant's own parameterisation and in the power basis."""

    coefficients: dict[str, float]  # b_0, b_1, ... as the variant parameterises its model
    polynomial: list[float]  # c0 + c1 x + c2 x^2 + ...: comparable across variants
    formula: str
    final_loss: float  # loss at the last step, computed before its update
    loss_history: list[tuple[int, float]]  # (step t, loss before update t)
    duration_s: float  # wall time of the training loop
    device: str  # "cpu" or "cuda": where it actually ran

    @classmethod
    def of(cls, values: Iterable, polynomial: Iterable, formula: str, trace: Trace, device) -> FitResult:
        """Build a result from a finished loop; values are the parameters b_0, b_1, ... in order."""
        return cls(
            coefficients={f"b_{i}": scalar(v) for i, v in enumerate(values)},
            polynomial=[float(c) for c in polynomial],
            formula=formula,
            final_loss=trace.final_loss,
            loss_history=list(trace.history),
            duration_s=trace.duration_s,
            device=str(device),
        )

    @classmethod
    def power_series(cls, values: Iterable, trace: Trace, device) -> FitResult:
        """Build a result for a model that is already a power series b_0 + b_1 x + b_2 x^2 + ..."""
        values = [scalar(v) for v in values]
        return cls.of(values, values, power_formula(values), trace, device)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; NaN and infinities become None so strict JSON encoders accept it."""
        if math.isfinite(sum(self.coefficients.values()) + sum(self.polynomial) + self.final_loss
                         + sum(v for _, v in self.loss_history)):
            # The sum is finite only if every term is (a NaN or an infinity, or an overflow, makes
            # it not): the common case then skips a check per number.
            return {"coefficients": dict(self.coefficients), "polynomial": list(self.polynomial),
                    "formula": self.formula, "final_loss": self.final_loss,
                    "loss_history": [{"step": s, "loss": v} for s, v in self.loss_history],
                    "duration_s": self.duration_s, "device": self.device}
        return {
            "coefficients": {name: _finite(v) for name, v in self.coefficients.items()},
            "polynomial": [_finite(c) for c in self.polynomial],
            "formula": self.formula,
            "final_loss": _finite(self.final_loss),
            "loss_history": [{"step": s, "loss": _finite(v)} for s, v in self.loss_history],
            "duration_s": self.duration_s,
            "device": self.device,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
