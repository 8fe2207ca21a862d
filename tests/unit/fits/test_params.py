"""Each parameter's Rule: its check and its JSON Schema accept and refuse the same values."""
import jsonschema_rs
import pytest

from fits.catalog import VARIANTS
from fits.errors import ParamError
from fits.params import rules

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
