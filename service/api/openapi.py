"""The OpenAPI 3.1 document of the API: the app's own routes, described by the tables that check requests."""
from dataclasses import dataclass
from http import HTTPStatus

from fits.params import MAX_HISTORY_POINTS
from service.api import inputs, listing, multiplex
from service.api.guards import auth
from service.api.problems import PROBLEM_TYPE
from service.api.results import routes as results
from service.api.schemas import JOB_ID, ref, schemas
from service.store.jobs import ID_PATTERN

JSON = "application/json"
HTML = "text/html"
SVG = results.SVG
NUMBER = listing.NUMBER.pattern
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}  # Flask answers these on every route by itself


@dataclass(frozen=True)
class Operation:
    """What one endpoint takes and answers besides the problems every endpoint can answer."""

    status: int
    schema: dict
    problems: tuple = ()
    parameters: tuple = ()
    body: str | None = None  # the request body's schema component
    headers: tuple = ()  # headers of the success answer
    links: tuple = ()  # operations the success answer's id leads to
    media: str = JSON  # the success answer's media type
    also: tuple = ()  # (media type, schema) of the success answer's other forms, on request


JOB_ID_PARAMETER = {"name": "job_id", "in": "path", "required": True, "schema": JOB_ID}
SWEEP_ID_PARAMETER = {"name": "sweep_id", "in": "path", "required": True, "schema": JOB_ID}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "The same key again returns the first job instead of creating another; "
                   "with a different request it is a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": inputs.MAX_KEY}}
LISTING = {
    "variant": ref("VariantName"),
    "status": {"type": "string", "pattern": listing.STATUS_PATTERN,
               "description": "one status or several, comma-separated (queued,running)"},
    "sweep": {**JOB_ID, "description": "only the jobs of this sweep"},
    "created_after": {"type": "string", "format": "date-time",
                      "description": "created at or after this moment (ISO 8601 with a time zone)"},
    "created_before": {"type": "string", "format": "date-time",
                       "description": "created strictly before this moment (ISO 8601 with a time zone)"},
    **{name: {"type": "string", "pattern": f"^{NUMBER}$",
              "description": f"only jobs whose {name[len('max_'):]} is at most this (jobs without one never match)"}
       for name in listing.EXCESS_FIELDS},
    **{f"param.{name}": {**rule.schema(), "description": f"the job's resolved {name} is exactly this"}
       for name, rule in listing.PARAM_RULES.items()},
    "order_by": {"type": "string", "enum": list(listing.ORDERS), "default": listing.ORDERS[0],
                 "description": "a sort key, '-' for descending; ties go by id, and jobs without a "
                                "final_loss, duration_s or excess come last in either direction"},
    "limit": {"type": "integer", "minimum": 1, "maximum": listing.MAX_LIMIT,
              "default": listing.DEFAULT_LIMIT},
    "cursor": {"type": "string", "maxLength": listing.MAX_CURSOR,
               "description": "next_cursor of the previous page, with the same order_by"},
}


def _query(name, schema, description=None, required=False):
    return {"name": name, "in": "query", "required": required, "schema": schema,
            **({"description": description} if description else {})}


TEXT = {"type": "string"}
HISTORY_QUERY = (
    _query("max_points", {"type": "integer", "minimum": 2, "maximum": MAX_HISTORY_POINTS},
           "at most this many points: the first, the last, and each bucket's lowest and highest loss"),
    _query("format", {"type": "string", "enum": list(results.FORMATS), "default": results.FORMATS[0]},
           "csv: a step,loss table (a null loss is an empty field)"))
# The count of numbers is in the description: a pattern bounding it too is past what regex engines
# (jsonschema-rs's among them) agree to compile.
PREDICT_QUERY = (_query("x", {"type": "string", "pattern": f"^{NUMBER}(,{NUMBER})*$"},
                        f"1 to {results.MAX_X} decimal numbers, comma-separated (or x repeated)", True),)


def _ids(most, why):
    pattern = f"^{ID_PATTERN.pattern}(,{ID_PATTERN.pattern}){{0,{most - 1}}}$"
    return (_query("ids", {"type": "string", "pattern": pattern},
                   f"1 to {most} job ids, comma-separated: {why}", True),)


HEADERS = {
    "Location": {"required": True, "description": "Where the new job (or sweep) can be read",
                 "schema": {"type": "string", "pattern": f"^/api/v1/(jobs|sweeps)/{ID_PATTERN.pattern}$"}},
    "Idempotent-Replayed": {"description": "This Idempotency-Key's first job, not a new one",
                            "schema": {"const": "true"}},
    "Retry-After": {"required": True, "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 0}},
    "Content-Disposition": {"description": "With format=csv: attachment and a file name",
                            "schema": {"type": "string"}},
    "WWW-Authenticate": {"required": True, "description": "The scheme to authenticate with",
                         "schema": {"const": auth.CHALLENGE}},
}
LAST_EVENT_ID = (
    {"name": "Last-Event-ID", "in": "header", "required": False,
     "description": "The id of the last event received: the stream resumes after it, nothing sent twice.",
     "schema": {"type": "string", "maxLength": 64}},
    _query("last_event_id", {"type": "string", "maxLength": 64},
           "The same as Last-Event-ID, for clients that cannot set headers"))
EVENTS = "text/event-stream"


def _event(names, id_pattern, description):
    # One event of the stream, as the stream's items (what OpenAPI 3.2 calls itemSchema, and what
    # schemathesis checks each event against): its name, id (none where id_pattern is None), and JSON
    # data in a string.
    ids = {} if id_pattern is None else {"id": {"type": "string", "pattern": id_pattern}}
    return {"type": "object", "required": ["event", *ids, "data"], "description": description,
            "properties": {"event": {"enum": list(names)}, **ids,
                           "data": {"type": "string", "contentMediaType": JSON}, "retry": {"type": "integer"}}}


JOB_EVENTS = _event(("progress", "status", "end"), r"^(-1|[0-9]+)(\.[a-z]+)?$", (
    "Server-Sent Events. `progress` at each history point ({step, steps, loss}; id: the step), `status` on "
    "each status change (the job document; id: step.status), then `end` ({status}; id: step.end), after "
    "which the server closes the stream. A finished job replays its history, status and end at once. "
    "Comment lines are keep-alives."))
SWEEP_EVENTS = _event(("job", "counts", "best", "end"), "^[0-9]+$", (
    "Server-Sent Events. `job` for each job that finishes ({id, status, params, final_loss, duration_s, "
    "error}), `counts` (jobs by status) when they change, `best` ({job_id, final_loss, params}) when the "
    "best job changes, then `end` ({counts}) when every job has finished (a search's: once it has stopped "
    "asking too). Each id is the number of finished jobs sent so far."))
JOBS_EVENTS = _event(("progress", "status", "end"), None, (
    "Server-Sent Events of several jobs. `progress` when a job's newest history point moves ({id, step, "
    "steps, loss}; the points in between are on the job's own stream), `status` on each status change "
    "(the job document, and once at the start), then `end` ({statuses: {id: status}}) once every job "
    "has finished, after which the server closes the stream. The events carry no id: a client that "
    "reconnects gets each job's current state again. Comment lines are keep-alives."))
JOB, HEALTH, READY = ref("Job"), ref("Health"), ref("Ready")
OPERATIONS = {
    "api.variants": Operation(200, {"type": "array", "items": ref("Variant")}),
    "api.submit": Operation(202, JOB, (400, 403, 409, 413, 415, 422, 503), parameters=(IDEMPOTENCY_KEY,),
                            body="Submission", headers=("Location", "Idempotent-Replayed"),
                            links=("api.show", "api.cancel", "results.history", "results.predict",
                                   "results.loss_plot", "results.fit_plot")),
    "api.index": Operation(200, ref("Page"), (400, 503), parameters=tuple(
        {"name": name, "in": "query", "required": False, "schema": LISTING[name]}
        for name in listing.LISTING_FIELDS)),
    "api.show": Operation(200, JOB, (404, 503), (JOB_ID_PARAMETER,)),
    "api.cancel": Operation(200, JOB, (403, 404, 409, 503), (JOB_ID_PARAMETER,)),
    "api.create_sweep": Operation(202, ref("Sweep"), (400, 403, 413, 415, 422, 503), body="SweepSubmission",
                                  headers=("Location",)),
    "api.show_sweep": Operation(200, ref("Sweep"), (404, 503), (SWEEP_ID_PARAMETER,)),
    "webhooks.job_deliveries": Operation(200, ref("Deliveries"), (404, 503), (JOB_ID_PARAMETER,)),
    "webhooks.sweep_deliveries": Operation(200, ref("Deliveries"), (404, 503), (SWEEP_ID_PARAMETER,)),
    # No links lead here from a submission: a fuzzer following them would wait out every running job.
    "streams.jobs_events": Operation(200, JOBS_EVENTS, (400, 404, 503),
                                     _ids(multiplex.MAX_IDS, "the jobs to follow"), media=EVENTS),
    "streams.job_events": Operation(200, JOB_EVENTS, (404, 422, 503), (JOB_ID_PARAMETER, *LAST_EVENT_ID),
                                    media=EVENTS),
    "streams.sweep_events": Operation(200, SWEEP_EVENTS, (404, 422, 503), (SWEEP_ID_PARAMETER, *LAST_EVENT_ID),
                                      media=EVENTS),
    "results.history": Operation(200, ref("History"), (400, 404, 409, 503),
                                 (JOB_ID_PARAMETER, *HISTORY_QUERY), headers=("Content-Disposition",),
                                 also=(("text/csv", TEXT),)),
    "results.predict": Operation(200, ref("Prediction"), (400, 404, 409, 503),
                                 (JOB_ID_PARAMETER, *PREDICT_QUERY)),
    "results.compare": Operation(200, ref("Comparison"), (400, 404, 503),
                                 _ids(results.MAX_COMPARE, "the jobs to compare")),
    "results.loss_plot": Operation(200, TEXT, (400, 404, 503), (JOB_ID_PARAMETER,), media=SVG),
    "results.fit_plot": Operation(200, TEXT, (400, 404, 503), (JOB_ID_PARAMETER,), media=SVG),
    "results.best_plot": Operation(200, TEXT, (400, 404, 503), (SWEEP_ID_PARAMETER,), media=SVG),
    "results.losses_plot": Operation(200, TEXT, (400, 404, 503),
                                     _ids(results.MAX_OVERLAY, "the curves to draw"), media=SVG),
    "api.healthz": Operation(200, HEALTH),
    "api.readyz": Operation(200, READY, (503,)),
    "probes.healthz": Operation(200, HEALTH),
    "probes.readyz": Operation(200, READY, (503,)),
    "api.openapi": Operation(200, {"type": "object"}),
    "api.whoami": Operation(200, ref("WhoAmI"), (503,)),
    "monitoring.live_workers": Operation(200, {"type": "array", "items": ref("Worker")}, (503,)),
    "monitoring.prometheus": Operation(200, {**TEXT, "description": "Prometheus text format 0.0.4"}, (503,),
                                       media="text/plain"),
}
# Why each problem is answered; every one is application/problem+json.
PROBLEMS = {
    400: "The body is not a JSON object (or repeats a key), the Host is not one the API answers to, or "
         "a header or query parameter is invalid.",
    401: "The bearer token is missing, malformed, unknown or revoked.",
    403: "The token's scopes do not cover this request (read, submit, admin, metrics), the job belongs to "
         "another owner (cancel), or a write comes from a browser page on an origin that is neither this "
         "API's nor in CORS_ORIGINS.",
    404: "No job (or sweep) has this id, or no dashboard asset this name.",
    409: "The Idempotency-Key was used for a different request, the job has already finished (cancel), "
         "or it has no result yet (history, predict).",
    413: "The body is larger than the server's MAX_BODY_BYTES ({max_body_bytes}).",
    415: "The body is not sent as Content-Type: application/json.",
    422: "The body asks for something invalid: an unknown variant, field or parameter, a wrong type, "
         "a value out of range, or a callback_url fitq does not call; or a Last-Event-ID that is not "
         "one of the stream's ids.",
    429: "Too many requests from this client (try again after Retry-After seconds), or a submission past "
         "the owner's quota of queued work (MAX_QUEUED_JOBS, MAX_QUEUED_WORK).",
    503: "The database or the queue is unreachable.",
}
PROBLEM_HEADERS = {401: "WWW-Authenticate", 429: "Retry-After"}
# gunicorn refuses these itself, as text/html, before the API reads the request (its default limits).
REFUSALS = {
    414: "The request line (method, path and query) is over 4094 bytes.",
    431: "A request header is over 8190 bytes.",
}


def document(app) -> dict:
    """The OpenAPI document of `app`: every route it serves, what each takes and what it answers."""
    settings = app.extensions["fitq"].settings
    paths = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods - IMPLICIT_METHODS):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, app)
    return {
        "openapi": "3.1.0",
        "info": {"title": "fitq", "version": "1",
                 "description": "Polynomial-fit training jobs. Every error is application/problem+json; "
                                "a method a path does not list is answered 405 with an Allow header."},
        "paths": paths,
        "components": {
            "schemas": schemas(settings),
            "responses": {**{str(code): _problem(code, why.format(**vars(settings)))
                             for code, why in PROBLEMS.items()},
                          **{str(code): {"description": why, "content": {"text/html": {}}}
                             for code, why in REFUSALS.items()}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `fitq token create`."}},
        },
    }


def _operation(rule, method, app):
    # auth.py decides where tokens (when this server wants them) and the rate limit apply.
    endpoint, limited = rule.endpoint, auth.guarded(rule.rule)
    guarded = (limited and (method, rule.rule) not in auth.PUBLIC
               and app.extensions["fitq"].settings.auth_required)
    # The pages served beside the API (service/web) describe themselves: their view's `operation`.
    spec = OPERATIONS.get(endpoint) or getattr(app.view_functions[endpoint], "operation", None)
    if spec is None:
        raise LookupError(f"route {endpoint} is not described in service/api/openapi.py OPERATIONS")
    content = {spec.media: {"schema": spec.schema}, **{m: {"schema": s} for m, s in spec.also}}
    ok = {"description": HTTPStatus(spec.status).phrase, "content": content}
    if spec.headers:
        ok["headers"] = {name: HEADERS[name] for name in spec.headers}
    if spec.links:
        ok["links"] = {_id(target): {"operationId": _id(target),
                                     "parameters": {"job_id": "$response.body#/id"}}
                       for target in spec.links}
    # Checking a token reads the database, so a guarded route can also answer 503.
    problems = {*spec.problems, *REFUSALS, *((401, 403, 503) if guarded else ()), *((429,) if limited else ())}
    responses = {str(spec.status): ok, **{str(code): ref(code, "responses") for code in sorted(problems)}}
    op = {"operationId": _id(endpoint), "summary": app.view_functions[endpoint].__doc__,
          "parameters": list(spec.parameters), "responses": responses,
          "security": [{"bearer": []}] if guarded else []}
    if spec.body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(spec.body)}}}
    return op


def _id(endpoint):
    return endpoint.replace(".", "_")


def _problem(code, why):
    answer = {"description": why, "content": {PROBLEM_TYPE: {"schema": ref("Problem")}}}
    if code in PROBLEM_HEADERS:
        answer["headers"] = {PROBLEM_HEADERS[code]: HEADERS[PROBLEM_HEADERS[code]]}
    return answer
