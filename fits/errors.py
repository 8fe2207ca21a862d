"""Errors the fit catalogue raises for bad requests; torch-free."""


class ParamError(ValueError):
    """A parameter (or the variant name) is unknown, of the wrong type, or out of range."""

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail
