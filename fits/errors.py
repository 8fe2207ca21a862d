"""Errors the fit catalogue raises for bad requests; torch-free."""


class ParamError(ValueError):
    """A parameter (or the variant name) is unknown, of the wrong type, or out of range."""

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class FitTimeout(Exception):
    """A training loop ran past its deadline; it stopped before step `step` of `steps`."""

    def __init__(self, step: int, steps: int):
        super().__init__(f"stopped at step {step} of {steps}: past the time budget")
        self.step = step
        self.steps = steps
