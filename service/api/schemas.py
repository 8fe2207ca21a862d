"""JSON Schemas of what the API reads and answers, built from the checks, the catalogue and the models."""
from fits import catalog
from fits.params import MAX_HISTORY_POINTS, MAX_STEPS_X_SAMPLES, rules
from service.api.inputs import MAX_SWEEP_POINTS
from service.api.search import MAX_CHOICES, MAX_PARALLELISM, MAX_RUNGS, MAX_TRIALS, PRUNERS, SEED_LIMIT, STRATEGIES
from service.store.jobs import ID_PATTERN
from service.store.models import DeliveryState, JobStatus
from service.webhooks.address import MAX_URL

JOB_ID = {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"}
PARAMETER_NAMES = sorted({name for v in catalog.VARIANTS.values() for name in v.params})
# Non-finite numbers are stored and shown as null, so every answer is valid JSON.
NUMBER_OR_NULL = {"type": ["number", "null"]}


def ref(name, kind="schemas") -> dict:
    """A reference to the component `name`."""
    return {"$ref": f"#/components/{kind}/{name}"}


NUMBER_OR_NULL_ARRAY = {"type": ["array", "null"], "items": {"type": ["number", "null"]}}
# Stored by the worker with every result (fits/optimum.py); absent from results older than them.
OPTIMUM_FIELDS = {
    "optimum_loss": {"type": ["number", "null"], "description": "the least-squares cubic's loss on the job's "
                     "points and dtype, computed by the worker; null where none was stored"},
    "excess_loss": {"type": ["number", "null"], "description": "final_loss - optimum_loss"},
    "relative_excess_loss": {"type": ["number", "null"],
                             "description": "(final_loss - optimum_loss) / optimum_loss; null at optimum 0"},
}


def _nullable(type_, **more):
    return {"type": [type_, "null"], **more}


def _object(properties, optional=()):
    required = [name for name in properties if name not in optional]
    return {"type": "object", "required": required, "properties": properties}


def _warnings():
    return {"type": "array",
            "description": "only in a submission's 202, and only when there is one: what to expect of it",
            "items": _object({"code": {"const": "unstable_learning_rate"},
                              "limit": {"type": "number", "exclusiveMinimum": 0,
                                        "description": "the largest stable learning rate for these points"},
                              "points": {"type": "integer", "minimum": 1,
                                         "description": "a sweep's: how many of its points are above it"},
                              "detail": {"type": "string"}}, optional=("points",))}


def schemas(settings) -> dict:
    """components.schemas: every JSON body the API reads or writes."""
    return {
        "VariantName": {"type": "string", "enum": sorted(catalog.VARIANTS)},
        "JobStatus": {"type": "string", "enum": [s.value for s in JobStatus]},
        "Variant": _object({
            "name": ref("VariantName"), "title": {"type": "string"}, "description": {"type": "string"},
            "defaults": {"type": "object"},
            "parameters": {"type": "array", "items": {"type": "string", "enum": PARAMETER_NAMES}},
            "learning_rate_limit": {"type": ["number", "null"], "exclusiveMinimum": 0,
                                    "description": "the largest stable learning rate at the default samples "
                                                   "and dtype (docs/results.md); null where not derived"}}),
        **_by_variant("Params", lambda variant, _: _params(variant), settings),
        **_by_variant("Submission", _submission, settings),
        "Job": _job(),
        **_by_variant("SweepSubmission", _sweep_submission, settings),
        "Sweep": _sweep(),
        "Page": _object({"items": {"type": "array", "items": ref("Job")},
                         "next_cursor": _nullable("string", description="null on the last page")}),
        "Problem": _object({
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599}, "detail": {"type": "string"},
            "field": {"type": "string", "description": "the body field, header or query parameter at fault"},
            "job_id": {**JOB_ID, "description": "the job recorded before the queue failed"},
            "sweep_id": {**JOB_ID, "description": "the sweep recorded before the queue failed"},
            "job": ref("Job"),
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
            "retry_after_s": {"type": "integer", "minimum": 0},
            "unknown": {"type": "array", "items": JOB_ID, "description": "the ids that name no job"}},
            optional=("field", "job_id", "sweep_id", "job", "checks", "retry_after_s", "unknown")),
        "Deliveries": _object({"items": {"type": "array", "items": ref("Delivery")}}),
        "Delivery": _delivery(),
        "Health": _object({"status": {"const": "ok"}}),
        "Ready": _object({name: {"const": "ok"} for name in ("status", "database", "redis")}),
        "Worker": _worker(),
        **_results(),
    }


def _by_variant(kind, build, settings):
    # One component per variant (`kind`_name) and `kind` as a oneOf of references to them, told apart by
    # a discriminator on `variant`: client generators (openapi-python-client) build a model of each and
    # a union of them, where inline alternatives were dropped. Params_* is a plain object schema.
    names = sorted(catalog.VARIANTS)
    each = {f"{kind}_{name}": build(catalog.VARIANTS[name], settings) for name in names}
    if kind == "Params":
        return each
    return {**each, kind: {"oneOf": [ref(component) for component in each], "discriminator": {
        "propertyName": "variant", "mapping": {name: ref(f"{kind}_{name}")["$ref"] for name in names}}}}


def _params(variant):
    # Each variant takes its own parameters, choices and bounds.
    params = {}
    for name, rule in rules(variant).items():
        params[name] = rule.schema()
        if name in variant.defaults:
            params[name]["default"] = variant.defaults[name]
    return {"type": "object", "properties": params, "additionalProperties": False,
            "description": f"Left out: the variant's default (log_every: at most steps). Also: steps x samples "
                           f"at most {MAX_STEPS_X_SAMPLES}, log_every at most steps, and steps / log_every at "
                           f"most {MAX_HISTORY_POINTS}."}


def _submission(variant, settings):
    body = {
        "variant": {"type": "string", "const": variant.name},
        # null is taken as {} (every default); the object is a component of its own for generators, which
        # drop an inline schema whose type is both object and null.
        "params": {"oneOf": [ref(f"Params_{variant.name}"), {"type": "null"}]},
        "timeout_s": _nullable("integer", minimum=1, maximum=settings.max_timeout_s,
                               default=settings.default_timeout_s),
        "callback_url": _nullable("string", format="uri", maxLength=MAX_URL,
                                  description="http(s) URL POSTed the job (or the sweep) document, signed, when "
                                              "it ends (docs/webhooks.md); never a loopback, private, link-local "
                                              "or metadata address unless the server allows its host"),
    }
    return {"additionalProperties": False, **_object(body, optional=("params", "timeout_s", "callback_url"))}


def _sweep_submission(variant, settings):
    # A job submission whose parameters may also come as lists in `grid`, one job per combination.
    body = _submission(variant, settings)
    names = list(rules(variant))
    body["properties"]["grid"] = {
        "type": "object", "minProperties": 1, "propertyNames": {"enum": names},
        "additionalProperties": {"type": "array", "items": {}, "minItems": 1},
        "description": f"parameter -> values to try; one job per combination, at most "
                       f"{MAX_SWEEP_POINTS} in all; a parameter is in params or grid, not both"}
    # A random or tpe sweep takes a space instead of a grid (the API says which is missing, with a 422).
    # One object schema, not a oneOf of two: client generators make a model of it (the API checks which).
    spec = {"type": "object", "additionalProperties": False,
            "description": "{\"choices\": [...]}, or {\"low\", \"high\", \"log\"}",
            "properties": {"choices": {"type": "array", "items": {}, "minItems": 1, "maxItems": MAX_CHOICES},
                           "low": {"type": "number"}, "high": {"type": "number"},
                           "log": {"type": "boolean", "description": "false when absent"}}}
    body["properties"].update({
        "strategy": {"type": "string", "enum": list(STRATEGIES),
                     "description": "grid: one job per combination of `grid`; random or tpe: `trials` jobs "
                                    "asked of Optuna's sampler by the sweeper, `parallelism` at a time"},
        "space": {"type": "object", "minProperties": 1, "propertyNames": {"enum": names},
                  "additionalProperties": spec,
                  "description": "random/tpe: each parameter's choices, or its low/high range (log: sampled "
                                 "on a log scale); not a parameter given in params"},
        "trials": {"type": "integer", "minimum": 1, "maximum": MAX_TRIALS,
                   "description": "random/tpe: how many trials (jobs) at most"},
        "seed": {"type": "integer", "minimum": 0, "maximum": SEED_LIMIT - 1,
                 "description": "random/tpe: the search's own seed (chosen when absent): the same seed and "
                                "results ask the same trials"},
        "parallelism": {"type": "integer", "minimum": 1, "maximum": MAX_PARALLELISM,
                        "description": f"random/tpe: trials asked at once, run as vectorised batches; "
                                       f"BATCH_SIZE ({settings.batch_size}) when absent"},
        "pruner": {"type": "object", "additionalProperties": False, "required": ["kind", "rungs"],
                   "properties": {
                       "kind": {"type": "string", "enum": list(PRUNERS)},
                       "rungs": {"type": "array", "minItems": 1, "maxItems": MAX_RUNGS,
                                 "items": {"type": "integer", "minimum": 1},
                                 "description": "increasing step counts below steps, each a multiple of "
                                                "log_every: where the pruner looks"},
                       "reduction_factor": {"type": "integer", "minimum": 2, "maximum": 100,
                                            "description": "asha only: about 1 in this many trials goes on "
                                                           "past each rung; 3 when absent"},
                       "startup_trials": {"type": "integer", "minimum": 0,
                                          "description": "median only: trials that finish before any is "
                                                         "pruned; 5 when absent"}},
                   "description": "random/tpe: stop lagging trials early (Optuna's ASHA or median pruner); a "
                                  "pruned trial leaves its vectorised pass and ends `pruned`"},
        "stop_at_excess": {"type": "number", "minimum": 0,
                           "description": "random/tpe: stop asking, and cancel the queued trials, once a "
                                          "trial's relative excess loss is at most this"}})
    return body


def _delivery():
    attempt = _object({
        "at": {"type": "string", "format": "date-time"},
        "status_code": _nullable("integer", description="the receiver's answer; null when none came"),
        "error": _nullable("string", description="why no answer came (timeout, refused, address not allowed)"),
        "excerpt": _nullable("string", maxLength=200, description="the start of the answer's body")})
    return _object({
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "state": {"type": "string", "enum": [s.value for s in DeliveryState],
                  "description": "pending: not yet answered with a 2xx and still retried; failed: given up"},
        "created_at": {"type": "string", "format": "date-time"},
        "next_attempt_at": _nullable("string", format="date-time", description="null once settled"),
        "attempts": {"type": "array", "items": attempt}})


def _sweep():
    counts = {s.value: {"type": "integer", "minimum": 0} for s in JobStatus}
    return _object({
        "id": JOB_ID,
        "variant": ref("VariantName"),
        "params": {"type": "object", "description": "the base parameters, as sent"},
        "grid": {"type": "object", "additionalProperties": {"type": "array", "items": {}}},
        "size": {"type": "integer", "minimum": 1},
        "created_at": {"type": "string", "format": "date-time"},
        "counts": _object(counts),
        "finished": {"type": "boolean", "description": "every job ended (a search: and it stopped asking)"},
        "strategy": {"type": "string", "enum": list(STRATEGIES)},
        "search": {**_object({
            "space": {"type": "object"}, "trials": {"type": "integer"}, "seed": {"type": "integer"},
            "parallelism": {"type": "integer"}, "stop_at_excess": NUMBER_OR_NULL,
            "pruner": {"type": ["object", "null"]},
            "asked": {"type": "integer", "minimum": 0},
            "ended": {"type": ["string", "null"],
                      "description": "null while it asks; trials: all asked; target: stop_at_excess reached"}}),
            "type": ["object", "null"], "description": "random/tpe: the search as asked, and where it is"},
        "trials": _object({"asked": {"type": "integer", "minimum": 0},
                           "finished": {"type": "integer", "minimum": 0},
                           "pruned": {"type": "integer", "minimum": 0}}),
        "best": {**_object({"job_id": JOB_ID, "final_loss": {"type": "number"},
                            "excess_loss": NUMBER_OR_NULL, "relative_excess_loss": NUMBER_OR_NULL,
                            "params": {"type": "object"}}), "type": ["object", "null"],
                 "description": "the succeeded job of least final loss (a search: of least relative excess)"},
        "jobs": {"type": "string", "description": "the listing of the sweep's jobs"},
        "warnings": _warnings(),
    }, optional=("warnings",))


def _job():
    return _object({
        "id": JOB_ID,
        "variant": ref("VariantName"),
        "params": {"type": "object", "propertyNames": {"enum": PARAMETER_NAMES},
                   "additionalProperties": {"type": ["integer", "number", "string"]},
                   "description": "every parameter the variant takes, defaults filled in"},
        "status": ref("JobStatus"),
        "progress": _object({"step": {"type": "integer", "minimum": 0},
                             "steps": {"type": "integer", "minimum": 0}}),
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": _nullable("string", format="date-time"),
        "finished_at": _nullable("string", format="date-time"),
        "attempts": {"type": "integer", "minimum": 0},
        "device": _nullable("string"),
        "worker": _nullable("string"),
        "timeout_s": _nullable("integer", minimum=1),
        "sweep_id": {**JOB_ID, "type": ["string", "null"]},
        "result": {**_object({
            "coefficients": {"type": "object", "additionalProperties": NUMBER_OR_NULL},
            "polynomial": {"type": "array", "items": NUMBER_OR_NULL},
            "formula": {"type": "string"},
            "final_loss": NUMBER_OR_NULL,
            "loss_history": {"type": "array", "items": _object({"step": {"type": "integer"},
                                                                "loss": NUMBER_OR_NULL})},
            "duration_s": {"type": "number"},
            "device": {"type": "string"},
            **OPTIMUM_FIELDS,
            "optimum_polynomial": {**NUMBER_OR_NULL_ARRAY, "description": "the optimum's cubic, power basis"},
        }, optional=(*OPTIMUM_FIELDS, "optimum_polynomial")), "type": ["object", "null"]},
        "error": {**_object({"type": {"type": "string"}, "message": {"type": "string"}}),
                  "type": ["object", "null"]},
        "notice": _nullable("string", description="why a queued job may not start soon: no live worker "
                                                  "consumes its queue (and what to start); else null"),
        "warnings": _warnings(),
    }, optional=("warnings",))


def _worker():
    return _object({
        "name": {"type": "string", "description": "the Celery node name, as in a job's worker field"},
        "host": {"type": "string"},
        "pid": {"type": "integer", "minimum": 1},
        "device": {"type": "string", "enum": ["cpu", "cuda"]},
        "gpu": _nullable("string", description="the GPU's name on a cuda worker"),
        "queues": {"type": "array", "items": {"type": "string"}},
        "pool": {"type": "string"},
        "started_at": {"type": "string", "format": "date-time"},
        "jobs": {"type": "array", "items": JOB_ID, "description": "the jobs this process runs now"},
        "stopping": {"type": "boolean", "description": "it got SIGTERM and takes no new job"},
        "heartbeat_at": {"type": "string", "format": "date-time"},
    })


def _results():
    # What history, predict and compare answer (service/api/results/routes.py).
    points = {"type": "array", "items": _object({"step": {"type": "integer"}, "loss": NUMBER_OR_NULL})}
    numbers = {"type": "array", "items": NUMBER_OR_NULL}
    compared = _object({
        "id": JOB_ID, "variant": ref("VariantName"), "params": {"type": "object"}, "status": ref("JobStatus"),
        "final_loss": {**NUMBER_OR_NULL, "description": "null until it succeeds, or when not finite"},
        "optimum": _object({"samples": {"type": "integer", "minimum": 2},
                            "dtype": {"type": "string"},
                            "loss": {**NUMBER_OR_NULL, "description": OPTIMUM_FIELDS["optimum_loss"]["description"]},
                            "polynomial": {**numbers, "type": ["array", "null"],
                                           "description": "null below four samples, and with no stored optimum"}}),
        "excess_loss": OPTIMUM_FIELDS["excess_loss"],
        "relative_excess_loss": OPTIMUM_FIELDS["relative_excess_loss"],
        "gap": {**NUMBER_OR_NULL, "description": "excess_loss under its first name"},
        "ratio": {**NUMBER_OR_NULL, "description": "final_loss / optimum.loss"},
        "duration_s": NUMBER_OR_NULL, "device": _nullable("string"),
        "coefficients": {"type": ["object", "null"], "additionalProperties": NUMBER_OR_NULL},
        "polynomial": {**numbers, "type": ["array", "null"]}, "formula": _nullable("string")})
    return {
        "History": _object({"id": JOB_ID, "status": ref("JobStatus"),
                            "points": {"type": "integer", "minimum": 0, "description": "points stored"},
                            "downsampled": {"type": "boolean"}, "loss_history": points}),
        "Prediction": _object({"id": JOB_ID, "variant": ref("VariantName"), "polynomial": numbers,
                               "x": {"type": "array", "items": {"type": "number"}},
                               "y": {**numbers, "description": "null where the polynomial is not finite"}}),
        "Comparison": _object({"items": {"type": "array", "items": compared}}),
        "WhoAmI": _object({
            "auth": {"type": "boolean", "description": "whether this API wants tokens"},
            "owner": {"type": "string", "description": "whose jobs this caller submits (AUTH off: local)"},
            "scopes": {"type": "array", "items": {"type": "string", "enum": ["admin", "metrics", "read", "submit"]}},
            "token": {"type": ["object", "null"], "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                      "description": "the token's public id and name; null with AUTH off"},
            "sees_all_owners": {"type": "boolean", "description": "admin, or SHARE_READS on"},
            "shared_reads": {"type": "boolean", "description": "SHARE_READS"}}),
    }
