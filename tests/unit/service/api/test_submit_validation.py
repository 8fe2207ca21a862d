"""POST /api/v1/jobs with a well-formed JSON object that asks for something invalid: 422, nothing written."""
import pytest

from fits.params import MAX_HISTORY_POINTS, MAX_LEARNING_RATE, MAX_SAMPLES, MAX_STEPS, MAX_STEPS_X_SAMPLES, SEED_LIMIT

# A wrongly accepted body would be enqueued: keep that in db 15 and clean it up.
pytestmark = pytest.mark.usefixtures("redis_db")

KNOWN = ("autograd", "custom_function", "dynamic", "lstsq", "module", "nn", "numpy", "optim", "tensor")


def test_unknown_variant_lists_the_known_ones(submit, problem, rows):
    body = problem(submit({"variant": "numpie"}), 422, "variant")
    assert "numpie" in body["detail"]
    for name in KNOWN:
        assert name in body["detail"]
    assert rows() == 0


@pytest.mark.parametrize("body", [
    {},
    {"params": {"steps": 10}},
], ids=["empty-object", "params-only"])
def test_variant_is_required(submit, problem, rows, body):
    problem(submit(body), 422, "variant")
    assert rows() == 0


@pytest.mark.parametrize("variant", [1, 1.5, True, None, ["numpy"], {"name": "numpy"}],
                         ids=["int", "float", "bool", "null", "array", "object"])
def test_variant_must_be_a_string(submit, problem, rows, variant):
    problem(submit({"variant": variant}), 422, "variant")
    assert rows() == 0


@pytest.mark.parametrize("variant,params,field", [
    ("lstsq", {"learning_rate": 1e-3}, "params.learning_rate"),
    ("lstsq", {"steps": 10}, "params.steps"),
    ("lstsq", {"log_every": 10}, "params.log_every"),
    ("numpy", {"foo": 1}, "params.foo"),
    ("optim", {"momentum": 0.9}, "params.momentum"),
    ("numpy", {"Steps": 10}, "params.Steps"),
])
def test_unknown_parameter_for_the_variant(submit, problem, rows, variant, params, field):
    body = problem(submit({"variant": variant, "params": params}), 422, field)
    assert variant in body["detail"]
    assert rows() == 0


@pytest.mark.parametrize("body,field", [
    ({"variant": "numpy", "priority": 1}, "priority"),
    ({"variant": "numpy", "params": {}, "steps": 10}, "steps"),
    ({"variant": "numpy", "Variant": "numpy"}, "Variant"),
])
def test_unknown_top_level_field(submit, problem, rows, body, field):
    problem(submit(body), 422, field)
    assert rows() == 0


@pytest.mark.parametrize("variant,params,field", [
    ("numpy", {"steps": True}, "params.steps"),
    ("numpy", {"learning_rate": False}, "params.learning_rate"),
    ("numpy", {"samples": True}, "params.samples"),
    ("numpy", {"seed": False}, "params.seed"),
    ("numpy", {"log_every": True}, "params.log_every"),
    ("numpy", {"steps": "2000"}, "params.steps"),
    ("numpy", {"learning_rate": "1e-6"}, "params.learning_rate"),
    ("numpy", {"steps": 10.5}, "params.steps"),
    ("numpy", {"samples": 2000.5}, "params.samples"),
    ("numpy", {"seed": 1.5}, "params.seed"),
    ("numpy", {"learning_rate": None}, "params.learning_rate"),
    ("numpy", {"steps": None}, "params.steps"),
    ("numpy", {"samples": None}, "params.samples"),
    ("numpy", {"steps": [2000]}, "params.steps"),
    ("numpy", {"learning_rate": {"value": 1e-6}}, "params.learning_rate"),
    ("tensor", {"dtype": 32}, "params.dtype"),
    ("tensor", {"device": None}, "params.device"),
    ("numpy", [{"steps": 10}], "params"),
    ("numpy", [], "params"),
    ("numpy", "steps=10", "params"),
    ("numpy", 10, "params"),
    ("numpy", True, "params"),
], ids=lambda v: repr(v)[:40])
def test_wrong_types(submit, problem, rows, variant, params, field):
    problem(submit({"variant": variant, "params": params}), 422, field)
    assert rows() == 0


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"])
def test_non_finite_learning_rate(submit, problem, rows, literal):
    raw = b'{"variant":"numpy","params":{"learning_rate":' + literal + b"}}"
    problem(submit(raw), 422, "params.learning_rate")
    assert rows() == 0


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e999"])
def test_non_finite_integer_parameters(submit, problem, rows, literal):
    raw = b'{"variant":"tensor","params":{"steps":' + literal + b"}}"
    problem(submit(raw), 422, "params.steps")
    assert rows() == 0


# Each of these is out of range on its own; the rest of the request is the variant's defaults.
OUT_OF_RANGE = [
    ("numpy", {"steps": 0}, "params.steps"),
    ("numpy", {"steps": -5}, "params.steps"),
    ("numpy", {"steps": MAX_STEPS + 1, "samples": 2, "log_every": 1000}, "params.steps"),
    ("numpy", {"samples": 1}, "params.samples"),
    ("lstsq", {"samples": 3}, "params.samples"),  # four coefficients need four points
    ("numpy", {"samples": 0}, "params.samples"),
    ("numpy", {"samples": MAX_SAMPLES + 1, "steps": 1, "log_every": 1}, "params.samples"),
    ("numpy", {"learning_rate": 0}, "params.learning_rate"),
    ("numpy", {"learning_rate": 0.0}, "params.learning_rate"),
    ("numpy", {"learning_rate": -1e-6}, "params.learning_rate"),
    ("optim", {"learning_rate": MAX_LEARNING_RATE * 1.5}, "params.learning_rate"),
    ("optim", {"learning_rate": 1e300}, "params.learning_rate"),
    ("numpy", {"seed": -1}, "params.seed"),
    ("numpy", {"seed": SEED_LIMIT}, "params.seed"),
    ("numpy", {"seed": 2**64}, "params.seed"),
    ("numpy", {"log_every": 0}, "params.log_every"),
    ("numpy", {"log_every": -1}, "params.log_every"),
    ("numpy", {"steps": 100, "log_every": 101}, "params.log_every"),
    ("tensor", {"dtype": "float16"}, "params.dtype"),
    ("tensor", {"dtype": "FLOAT32"}, "params.dtype"),
    ("tensor", {"device": "tpu"}, "params.device"),
    ("tensor", {"device": "cuda:0"}, "params.device"),
    ("numpy", {"device": "cuda"}, "params.device"),
    ("lstsq", {"samples": 1}, "params.samples"),
    ("lstsq", {"dtype": "float16"}, "params.dtype"),
]


@pytest.mark.parametrize("variant,params,field", OUT_OF_RANGE, ids=lambda v: repr(v)[:40])
def test_out_of_range(submit, problem, rows, variant, params, field):
    problem(submit({"variant": variant, "params": params}), 422, field)
    assert rows() == 0


def test_steps_times_samples_bounded_while_each_is_in_range(submit, problem, rows):
    steps, samples = 100_000, MAX_STEPS_X_SAMPLES // 100_000 + 1
    assert steps <= MAX_STEPS and samples <= MAX_SAMPLES and steps * samples > MAX_STEPS_X_SAMPLES
    body = problem(submit({"variant": "tensor", "params": {"steps": steps, "samples": samples,
                                                            "log_every": 1000}}), 422)
    assert body["field"] in ("params.steps", "params.samples")
    assert rows() == 0


def test_too_many_history_points(submit, problem, rows):
    steps = MAX_HISTORY_POINTS + 1
    assert steps * 2000 <= MAX_STEPS_X_SAMPLES
    problem(submit({"variant": "tensor", "params": {"steps": steps, "log_every": 1}}), 422,
            "params.log_every")
    assert rows() == 0


def test_first_bad_parameter_does_not_leak_a_partial_job(submit, problem, rows):
    """Several faults at once: one answer, still nothing written."""
    problem(submit({"variant": "numpy", "params": {"steps": 0, "samples": 1, "seed": -1}}), 422)
    assert rows() == 0
