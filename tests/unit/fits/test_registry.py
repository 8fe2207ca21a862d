"""The variant table, the run entry point, and the JSON form of a result."""
import json
import math

import pytest

from fits import catalog, registry

NAMES = ["autograd", "custom_function", "dynamic", "lstsq", "module", "nn", "numpy", "optim", "tensor"]


def test_the_table_holds_the_nine_variants():
    assert sorted(registry.VARIANTS) == NAMES


def test_the_api_catalogue_lists_exactly_the_runnable_variants():
    assert sorted(catalog.VARIANTS) == sorted(registry.VARIANTS)


def test_unknown_variant_names_the_known_ones():
    with pytest.raises(registry.UnknownVariant) as caught:
        registry.run("quartic", {})

    assert isinstance(caught.value, KeyError)
    message = str(caught.value)
    assert "quartic" in message and all(name in message for name in NAMES)


def test_result_is_json_ready(params):
    result = registry.run("autograd", params("autograd", steps=200))

    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))

    assert data["loss_history"] == [{"step": s, "loss": v} for s, v in result.loss_history]
    assert set(data) == {"coefficients", "polynomial", "formula", "final_loss", "loss_history",
                         "duration_s", "device"}
    assert list(data["coefficients"]) == ["b_0", "b_1", "b_2", "b_3"]


@pytest.mark.parametrize("variant", ["numpy", "tensor", "optim"])
def test_a_diverged_fit_is_still_valid_json(variant, params):
    result = registry.run(variant, params(variant, learning_rate=1.0, steps=400, log_every=10))

    text = json.dumps(result.to_dict(), allow_nan=False)

    losses = [loss for _, loss in result.loss_history] + [result.final_loss]
    if variant != "optim":  # RMSprop's normalised steps grow the loss without overflowing
        assert not all(math.isfinite(v) for v in losses)
        assert "null" in text
