"""Reading an adaptive sweep's search from a POST /sweeps body: its space, trials, seed, parallelism and
stop_at_excess, each checked here (pure Python: the sweeper runs Optuna, the API never imports it)."""
import math
import secrets

from fits import params as fit_params
from fits.batch_key import batch_key
from fits.errors import ParamError
from service.api.problems import Problem

STRATEGIES = ("grid", "random", "tpe")
SEARCH_FIELDS = ("space", "trials", "seed", "parallelism", "stop_at_excess", "pruner")
# Each pruner's options: (lowest, highest, default).
PRUNERS = {"asha": {"reduction_factor": (2, 100, 3)}, "median": {"startup_trials": (0, 10_000, 5)}}
MAX_RUNGS = 20
MAX_TRIALS = 10_000  # as many as a grid's points
MAX_PARALLELISM = 1_000
MAX_CHOICES = 10_000
SEED_LIMIT = 2**32


def strategy(body):
    """The body's strategy (grid when absent), or a 422."""
    value = body.get("strategy", "grid")
    if value not in STRATEGIES:
        raise Problem(422, f"must be one of {', '.join(STRATEGIES)}", field="strategy")
    return value


def search(body, variant, base, shared, settings):
    """The stored search of a random or tpe sweep: {"space", "trials", "seed", "parallelism",
    "stop_at_excess"}, every value checked against `variant`'s rules with the base params `shared`
    (`base` as sent, which the space must not repeat)."""
    space = _space(body.get("space"), variant, base, shared)
    trials = _integer(body.get("trials"), "trials", 1, MAX_TRIALS, required=True)
    seed = _integer(body.get("seed"), "seed", 0, SEED_LIMIT - 1)
    parallelism = _integer(body.get("parallelism"), "parallelism", 1, MAX_PARALLELISM)
    stop = body.get("stop_at_excess")
    if stop is not None and (isinstance(stop, bool) or not isinstance(stop, (int, float))
                             or not math.isfinite(stop) or stop < 0):
        raise Problem(422, "must be a finite number at least 0 (a relative excess loss)", field="stop_at_excess")
    pruner = _pruner(body.get("pruner"), space, shared, variant)
    return {"space": space, "trials": trials, "pruner": pruner,
            "seed": secrets.randbelow(SEED_LIMIT) if seed is None else seed,
            "parallelism": settings.batch_size if parallelism is None else parallelism,
            "stop_at_excess": None if stop is None else float(stop)}


def _integer(value, field, low, high, required=False):
    if value is None:
        if required:
            raise Problem(422, "is required", field=field)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Problem(422, f"must be an integer from {low} to {high}", field=field)
    return value


def _space(space, variant, base, shared):
    # Each parameter: {"choices": [...]} or {"low", "high", "log"}; every value the variant's rules accept.
    if not isinstance(space, dict) or not space:
        raise Problem(422, "must be an object mapping parameters to {choices} or {low, high, log}", field="space")
    rules = fit_params.rules(variant)
    checked = {}
    for name, spec in space.items():
        field = f"space.{name}"
        if name not in rules:
            raise Problem(422, f"unknown parameter for {variant.name}; allowed: {', '.join(rules)}", field=field)
        if name in base:
            raise Problem(422, "is in both params and space; give it in one of them", field=field)
        if not isinstance(spec, dict):
            raise Problem(422, "must be {\"choices\": [...]} or {\"low\": ..., \"high\": ..., \"log\": ...}",
                          field=field)
        checked[name] = _choices(spec, name, field, variant, shared) if "choices" in spec else \
            _range(spec, name, field, rules[name], variant, shared)
    return checked


def _choices(spec, name, field, variant, shared):
    for key in spec:
        if key != "choices":
            raise Problem(422, "choices takes no other key", field=f"{field}.{key}")
    values = spec["choices"]
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_CHOICES:
        raise Problem(422, f"must be a list of 1 to {MAX_CHOICES} values", field=f"{field}.choices")
    for value in values:
        _check(name, value, f"{field}.choices", variant, shared)
    return {"choices": values}


def _range(spec, name, field, rule, variant, shared):
    for key in spec:
        if key not in ("low", "high", "log"):
            raise Problem(422, "unknown key; give choices, or low, high and log", field=f"{field}.{key}")
    if rule.type == "string":
        raise Problem(422, "takes choices, not a range", field=field)
    for key in ("low", "high"):
        if key not in spec:
            raise Problem(422, "is required", field=f"{field}.{key}")
        _check(name, spec[key], f"{field}.{key}", variant, shared)
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if not isinstance(log, bool):
        raise Problem(422, "must be true or false", field=f"{field}.log")
    if not low < high:
        raise Problem(422, f"must be greater than low ({low})", field=f"{field}.high")
    if log and low <= 0:
        raise Problem(422, "must be greater than 0 for a log range", field=f"{field}.low")
    kind = "int" if rule.type == "integer" else "float"
    return {"low": low if kind == "int" else float(low), "high": high if kind == "int" else float(high),
            "log": log, "type": kind}


def _check(name, value, field, variant, shared):
    try:
        fit_params.resolve(variant.name, {**shared, name: value})
    except ParamError as err:
        if err.field.removeprefix("params.") == name:
            raise Problem(422, err.detail, field=field) from None
        raise Problem(422, err.detail, field=err.field) from None


def _pruner(pruner, space, shared, variant):
    # {"kind": "asha" | "median", "rungs": [steps done, increasing, each at a history point], options}.
    if pruner is None:
        return None
    if not isinstance(pruner, dict):
        raise Problem(422, "must be an object: {\"kind\": \"asha\" or \"median\", \"rungs\": [steps]}",
                      field="pruner")
    kind = pruner.get("kind")
    if kind not in PRUNERS:
        raise Problem(422, f"must be one of {', '.join(PRUNERS)}", field="pruner.kind")
    for key in pruner:
        if key not in ("kind", "rungs", *PRUNERS[kind]):
            raise Problem(422, f"unknown key for {kind}; allowed: kind, rungs, {', '.join(PRUNERS[kind])}",
                          field=f"pruner.{key}")
    resolved = fit_params.resolve(variant.name, shared)  # checked already: the defaults filled in
    if batch_key(variant.name, resolved) is None:
        raise Problem(422, f"{variant.name} runs each job alone, so no pass can drop a trial; prune a "
                           "batchable variant", field="pruner")
    for name in ("steps", "log_every"):
        if name in space:
            raise Problem(422, f"rungs are steps of one pass: give {name} in params, not in space",
                          field=f"space.{name}")
    steps, log_every = resolved["steps"], resolved["log_every"]  # every batchable variant has them
    rungs = pruner.get("rungs")
    if not isinstance(rungs, list) or not 1 <= len(rungs) <= MAX_RUNGS:
        raise Problem(422, f"must be a list of 1 to {MAX_RUNGS} step counts", field="pruner.rungs")
    for i, rung in enumerate(rungs):
        if isinstance(rung, bool) or not isinstance(rung, int) or not 0 < rung < steps or rung % log_every \
                or i and rung <= rungs[i - 1]:
            raise Problem(422, f"must be increasing step counts below steps ({steps}), each a multiple of "
                               f"log_every ({log_every}) so a history point falls on it", field=f"pruner.rungs.{i}")
    found = {"kind": kind, "rungs": rungs}
    for key, (low, high, default) in PRUNERS[kind].items():
        found[key] = _integer(pruner.get(key), f"pruner.{key}", low, high)
        found[key] = default if found[key] is None else found[key]
    return found
