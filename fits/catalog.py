"""The variant catalogue: names, titles and defaults, readable without importing torch."""
from dataclasses import dataclass, field

LOOP_PARAMS = ("learning_rate", "steps", "samples", "seed", "dtype", "device", "log_every")
LSTSQ_PARAMS = ("samples", "seed", "dtype", "device")


@dataclass(frozen=True)
class Variant:
    """One training variant as the API shows it."""

    name: str
    title: str
    description: str
    defaults: dict = field(default_factory=dict)
    params: tuple = LOOP_PARAMS
    devices: tuple = ("auto", "cpu", "cuda")
    dtypes: tuple = ("float32", "float64")
    min_samples: int = 2


def _loop(name, title, description, learning_rate, **overrides):
    defaults = {"learning_rate": learning_rate, "steps": 2000, "samples": 2000,
                "dtype": "float32", "device": "auto", "log_every": 100}
    defaults.update(overrides)
    return Variant(name, title, description, defaults)


# One literal table; listed sorted by name.
VARIANTS = {v.name: v for v in (
    Variant("numpy", "Numpy implementation",
            "Hand-written forward and backward passes with numpy arrays (float64).",
            {"learning_rate": 1e-6, "steps": 2000, "samples": 2000, "dtype": "float64",
             "device": "cpu", "log_every": 100},
            devices=("auto", "cpu")),
    _loop("tensor", "Torch with manual backprop",
          "Hand-written gradients on torch tensors: the numpy program, runnable on a GPU.", 1e-6),
    _loop("autograd", "Torch with autograd",
          "loss.backward() computes the gradients; the update runs under torch.no_grad().", 1e-6),
    _loop("custom_function", "Custom autograd Function",
          "y = b0 + b1 * P3(b2 + b3 x) with the Legendre polynomial P3 as a "
          "torch.autograd.Function with its own backward; fixed init (0, -1, 0, 0.3).", 5e-6),
    _loop("nn", "The nn package",
          "nn.Sequential(Linear(3, 1), Flatten(0, 1)) on (x, x^2, x^3) with MSELoss(sum) "
          "and a hand-written SGD update.", 1e-6),
    _loop("optim", "The optim package",
          "The nn model trained by torch.optim.RMSprop.", 1e-3),
    _loop("module", "Custom nn.Module",
          "A Polynomial3 nn.Module subclass with four Parameters, trained by torch.optim.SGD.", 1e-6),
    _loop("dynamic", "Control flow and weight sharing",
          "DynamicNet: a cubic plus x^4 and x^5 terms chosen at random each step, sharing one "
          "weight e; SGD with momentum 0.9.", 1e-8, steps=30000, log_every=2000),
    Variant("lstsq", "Exact least squares",
            "The least-squares cubic (torch.linalg.lstsq): the optimum every loop approaches.",
            {"samples": 2000, "dtype": "float32", "device": "auto"}, params=LSTSQ_PARAMS,
            min_samples=4),  # four coefficients need at least four points to be determined
)}


def listing() -> list[dict]:
    """The catalogue as the API lists it, sorted by name."""
    return [{"name": v.name, "title": v.title, "description": v.description,
             "defaults": dict(v.defaults), "parameters": list(v.params)}
            for v in sorted(VARIANTS.values(), key=lambda v: v.name)]
