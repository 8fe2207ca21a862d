"""Each parameter's Rule: its check and its JSON Schema accept and refuse the same values."""
import jsonschema_rs
import pytest

from fits.catalog import VARIANTS
from fits.errors import ParamError
from fits.params import resolve, rules

CASES = [(name, key, rule) for name, variant in sorted(VARIANTS.items())
         for key, rule in rules(variant).items()]


def _probes(rule):
    # The edges of the rule, just past them, and values of the wrong type.
    if rule.type == "string":
        return [*rule.choices, "cuda:0", "FLOAT32", "", 32, True, None]
    step = 1 if rule.type == "integer" else 1e-9
    return [rule.low, rule.high, rule.low - step, rule.high + step, (rule.low + rule.high) // 2,
            1.5, "2", True, None, [], {}]


@pytest.mark.parametrize("variant,key,rule", CASES, ids=[f"{n}.{k}" for n, k, _ in CASES])
def test_check_and_schema_agree(variant, key, rule):
    schema = jsonschema_rs.Draft202012Validator(rule.schema())
    for value in _probes(rule):
        try:
            rule.check(f"params.{key}", value)
            accepted = True
        except ParamError:
            accepted = False
        # null is the one value the schema allows that the check does not see: resolve draws it.
        expected = schema.is_valid(value) and value is not None
        assert accepted == expected, (variant, key, value)


def test_the_schemas_a_client_reads_name_the_type_and_allow_null_only_for_a_drawn_seed():
    table = rules(VARIANTS["tensor"])
    assert table["dtype"].schema() == {"type": "string", "enum": ["float32", "float64"]}
    assert table["seed"].schema() == {"type": ["integer", "null"], "minimum": 0, "maximum": 2**32 - 1}
    assert table["steps"].schema() == {"type": "integer", "minimum": 1, "maximum": 1_000_000}
    assert table["device"].schema() == {"type": "string", "enum": ["auto", "cpu", "cuda"]}
    assert jsonschema_rs.Draft202012Validator(table["seed"].schema()).is_valid(None)
    assert not jsonschema_rs.Draft202012Validator(table["steps"].schema()).is_valid(None)


NOT_FINITE = "must be a finite number (NaN and Infinity are not allowed)"


@pytest.mark.parametrize("params,message", [
    ({"steps": True}, "params.steps: must be an integer, got a boolean"),
    ({"steps": "10"}, "params.steps: must be an integer, got a string"),
    ({"steps": 1.5}, "params.steps: must be an integer, got a number"),
    ({"steps": None}, "params.steps: must be an integer, got null"),
    ({"steps": [1]}, "params.steps: must be an integer, got an array"),
    ({"steps": {}}, "params.steps: must be an integer, got an object"),
    ({"steps": 0}, "params.steps: must be between 1 and 1000000, got 0"),
    ({"steps": 10**5000}, "params.steps: must be between 1 and 1000000, got an integer too long to show"),
    ({"dtype": "f" * 41}, "params.dtype: must be one of float32, float64, got '" + "f" * 36 + "..."),
    ({"dtype": "f" * 38}, "params.dtype: must be one of float32, float64, got '" + "f" * 38 + "'"),
    ({"dtype": "f" * 39}, "params.dtype: must be one of float32, float64, got '" + "f" * 36 + "..."),
    ({"learning_rate": None}, "params.learning_rate: must be a number, got null"),
    ({"learning_rate": "1e-6"}, "params.learning_rate: must be a number, got a string"),
    ({"learning_rate": float("nan")}, f"params.learning_rate: {NOT_FINITE}"),
    ({"learning_rate": float("-inf")}, f"params.learning_rate: {NOT_FINITE}"),
    ({"learning_rate": 0}, "params.learning_rate: must be greater than 0 and at most 10.0, got 0"),
    ({"learning_rate": 10.5}, "params.learning_rate: must be greater than 0 and at most 10.0, got 10.5"),
    ({"steps": 1_000_000, "samples": 1000},
     "params.steps: steps x samples must be at most 100,000,000, got 1,000,000,000"),
    ({"steps": 10, "log_every": 20}, "params.log_every: must be at most steps (10), got 20"),
    ({"steps": 100_010, "samples": 100, "log_every": 10},
     "params.log_every: steps / log_every must be at most 10000 history points; raise log_every"),
    ({"foo": 1}, "params.foo: unknown parameter for tensor; allowed: learning_rate, steps, samples, seed, "
                 "dtype, device, log_every"),
])
def test_a_refusal_says_what_was_sent(params, message):
    # What the API's problem answers with: the field, the rule, and the client's value (or its kind).
    with pytest.raises(ParamError) as refused:
        resolve("tensor", params)
    assert str(refused.value) == message


@pytest.mark.parametrize("name,params,message", [
    (1, {}, "variant: must be a string, got int"),
    (["tensor"], {}, "variant: must be a string, got an array"),
    ("quartic", {}, "variant: unknown variant 'quartic'; known: autograd, custom_function, dynamic, lstsq, "
                    "module, nn, numpy, optim, tensor"),
    ("tensor", 5, "params: must be an object, got int"),
    ("tensor", [], "params: must be an object, got an array"),
])
def test_a_refused_variant_or_params_object_says_what_was_sent(name, params, message):
    with pytest.raises(ParamError) as refused:
        resolve(name, params)
    assert str(refused.value) == message


def test_history_points_are_whole_points_a_job_just_past_a_multiple_is_accepted():
    # 100,001 steps logged every 10 make 10,000 whole history points (and the last step): allowed.
    assert resolve("tensor", {"steps": 100_001, "samples": 100, "log_every": 10})["steps"] == 100_001


@pytest.mark.parametrize("draw,seed", [(lambda bound: 0, 0), (lambda bound: bound - 1, 2**32 - 1)])
def test_a_drawn_seed_spans_every_seed_numpy_takes_and_no_more(monkeypatch, draw, seed):
    # The draw's extremes, forced: the smallest and the largest seed a job can be given.
    monkeypatch.setattr("fits.params.secrets.randbelow", draw)
    assert resolve("tensor", {})["seed"] == seed


def test_rules_made_once_are_handed_out_as_a_fresh_table_each_time():
    # Made once per variant's shape (a sweep resolves thousands of points); a caller's change stays its own.
    table = rules(VARIANTS["tensor"])
    del table["steps"]
    assert "steps" in rules(VARIANTS["tensor"])
    assert rules(VARIANTS["numpy"])["device"].choices != rules(VARIANTS["tensor"])["device"].choices
