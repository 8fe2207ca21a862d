"""Validate a job's parameters and fill in the variant's defaults; torch-free."""
import math
import secrets
from dataclasses import dataclass

from fits.catalog import VARIANTS
from fits.errors import ParamError

# Bounds a user can rely on (README lists them). The product bound keeps one job to seconds of work.
MAX_STEPS = 1_000_000
MAX_SAMPLES = 1_000_000
MAX_STEPS_X_SAMPLES = 100_000_000
MAX_HISTORY_POINTS = 10_000
MAX_LEARNING_RATE = 10.0
SEED_LIMIT = 2**32  # numpy's RandomState takes seeds below 2**32


@dataclass(frozen=True)
class Rule:
    """What one parameter accepts; it checks a value and describes itself as a JSON schema."""

    type: str  # "integer", "number" (greater than `low`) or "string" (one of `choices`)
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    drawn: bool = False  # absent or null: drawn at random in [low, high] and stored

    def check(self, field, value):
        """`value` as stored, or a ParamError naming `field`."""
        if self.type == "integer":
            return _integer(field, value, self.low, self.high)
        if self.type == "number":
            return _number(field, value, self.low, self.high)
        return _choice(field, value, self.choices)

    def schema(self) -> dict:
        """This rule as a JSON Schema (2020-12, as OpenAPI 3.1 uses it)."""
        if self.type == "string":
            return {"type": "string", "enum": list(self.choices)}
        bounds = {"exclusiveMinimum" if self.type == "number" else "minimum": self.low,
                  "maximum": self.high}
        return {"type": [self.type, "null"] if self.drawn else self.type, **bounds}


# A variant's rules, made once per shape of variant: a 10,000-point sweep resolves 10,000 points.
_RULES: dict[tuple, dict[str, Rule]] = {}


def rules(variant) -> dict:
    """The rule of each parameter `variant` takes, in the order it lists them."""
    shape = (variant.params, variant.min_samples, variant.dtypes, variant.devices)
    made = _RULES.get(shape)
    if made is None:
        made = _RULES[shape] = _made_rules(variant)
    return dict(made)


def _made_rules(variant) -> dict[str, Rule]:
    table = {
        "learning_rate": Rule("number", 0, MAX_LEARNING_RATE),
        "steps": Rule("integer", 1, MAX_STEPS),
        "samples": Rule("integer", variant.min_samples, MAX_SAMPLES),
        "seed": Rule("integer", 0, SEED_LIMIT - 1, drawn=True),
        "dtype": Rule("string", choices=variant.dtypes),
        "device": Rule("string", choices=variant.devices),
        "log_every": Rule("integer", 1, MAX_STEPS),
    }
    return {key: table[key] for key in variant.params}


def _integer(field, value, low, high):
    # bool is an int subclass in Python; a JSON true is not a step count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(field, f"must be an integer, got {_kind(value)}")
    if not low <= value <= high:
        raise ParamError(field, f"must be between {low} and {high}, got {_show(value)}")
    return value


def _number(field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(field, f"must be a number, got {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError(field, "must be a finite number (NaN and Infinity are not allowed)")
    if not low < value <= high:
        raise ParamError(field, f"must be greater than {low} and at most {high}, got {_show(value)}")
    return float(value)


def _choice(field, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ParamError(field, f"must be one of {', '.join(choices)}, got {_show(value)}")
    return value


def _show(value):
    # Echo the client's value, but never thousands of digits (str() of a huge int even raises).
    try:
        text = repr(value)
    except ValueError:
        return "an integer too long to show"
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value):
    return {bool: "a boolean", str: "a string", float: "a number", type(None): "null",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def variant_named(name):
    """The catalogue entry for `name`, or a ParamError naming the known variants."""
    if not isinstance(name, str):
        raise ParamError("variant", f"must be a string, got {_kind(name)}")
    if name not in VARIANTS:
        raise ParamError("variant", f"unknown variant {_show(name)}; known: {', '.join(sorted(VARIANTS))}")
    return VARIANTS[name]


def resolve(name, params):
    """Checked parameters for variant `name` with defaults filled in and a seed chosen if absent."""
    variant = variant_named(name)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamError("params", f"must be an object, got {_kind(params)}")
    for key in params:
        if key not in variant.params:
            raise ParamError(f"params.{key}", f"unknown parameter for {name}; "
                                              f"allowed: {', '.join(variant.params)}")
    merged = {**variant.defaults, **params}
    if "log_every" in merged and "log_every" not in params and _is_int(merged.get("steps")):
        # A short job logs at its last step rather than being refused for a default it never set.
        merged["log_every"] = max(1, min(merged["log_every"], merged["steps"]))
    out = {}
    for key, rule in rules(variant).items():
        if rule.drawn and merged.get(key) is None:
            # Chosen here and stored, so every job can be re-run exactly.
            out[key] = rule.low + secrets.randbelow(rule.high - rule.low + 1)
            continue
        out[key] = rule.check(f"params.{key}", merged[key])
    if "steps" in out:
        _check_shape(out)
    return out


def _check_shape(p):
    if p["steps"] * p["samples"] > MAX_STEPS_X_SAMPLES:
        raise ParamError("params.steps", f"steps x samples must be at most {MAX_STEPS_X_SAMPLES:,}, "
                                         f"got {p['steps'] * p['samples']:,}")
    if p["log_every"] > p["steps"]:
        raise ParamError("params.log_every", f"must be at most steps ({p['steps']}), got {p['log_every']}")
    if p["steps"] // p["log_every"] > MAX_HISTORY_POINTS:
        raise ParamError("params.log_every", f"steps / log_every must be at most {MAX_HISTORY_POINTS} "
                                             f"history points; raise log_every")
