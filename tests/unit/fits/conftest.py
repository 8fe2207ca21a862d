"""Shared defaults and expensive runs for the fits tests."""
import pytest

from fits import registry

# The unit tests make claims about CPU runs (the seed's numbers "on CPU"); device="auto" resolving to
# the CPU is tested on its own in test_device.py.
LOOP = {"steps": 2000, "samples": 2000, "seed": 0, "dtype": "float32", "device": "cpu", "log_every": 100}
DEFAULTS = {
    "numpy": {**LOOP, "learning_rate": 1e-6, "dtype": "float64"},
    "tensor": {**LOOP, "learning_rate": 1e-6},
    "autograd": {**LOOP, "learning_rate": 1e-6},
    "custom_function": {**LOOP, "learning_rate": 5e-6},
    "nn": {**LOOP, "learning_rate": 1e-6},
    "optim": {**LOOP, "learning_rate": 1e-3},
    "module": {**LOOP, "learning_rate": 1e-6},
    "dynamic": {**LOOP, "learning_rate": 1e-8, "steps": 30000, "log_every": 2000},
    "lstsq": {"samples": 2000, "seed": 0, "dtype": "float32", "device": "cpu"},
}


def params(variant, **overrides):
    """The variant's default parameters with some replaced."""
    return {**DEFAULTS[variant], **overrides}


@pytest.fixture(name="params")
def params_fixture():
    """params(variant, **overrides): the variant's defaults with some replaced."""
    return params


@pytest.fixture(scope="session")
def dynamic_run():
    """The dynamic variant with its defaults (30,000 steps, the slowest run here), and its progress calls."""
    calls = []
    result = registry.run("dynamic", params("dynamic"), on_progress=lambda *a: calls.append(a))
    return result, calls
