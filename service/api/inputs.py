"""Reading what a client sent: JSON bodies and headers, each checked (the listing query: listing.py)."""
import json

from flask import request

from fits import params as fit_params
from fits.errors import ParamError
from service.api import search
from service.api.problems import Problem
from service.webhooks import address

SUBMIT_FIELDS = ("variant", "params", "timeout_s", "callback_url")
SWEEP_FIELDS = ("variant", "params", "grid", "timeout_s", "callback_url", "strategy")
MAX_SWEEP_POINTS = 10_000  # one sweep's jobs are inserted in one transaction
MAX_KEY = 200  # the idempotency_key column's width
JSON = "application/json"
# No parameter needs more (a seed has 10); str() of a longer one can even raise past 4,300 digits.
MAX_DIGITS = 30


def json_object(settings):
    """The request body as a JSON object, or a 4xx that says what is wrong with it."""
    # JSON only: a browser sends a form or text/plain to another origin without asking it first,
    # application/json only after a CORS preflight that the API answers for CORS_ORIGINS alone.
    if request.mimetype != JSON:
        raise Problem(415, f"send the body as JSON, with Content-Type: {JSON}", field="Content-Type")
    raw = request.get_data(cache=False)
    if len(raw) > settings.max_body_bytes:  # a chunked body, read one byte past the limit
        raise Problem(413, f"the request body is over {settings.max_body_bytes:,} bytes (MAX_BODY_BYTES)")
    if not raw.strip():
        raise Problem(400, "the request body is empty; send a JSON object", field="body")
    try:
        # Strict UTF-8 first: json.loads(bytes) would let encoded surrogates through.
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique, parse_int=_integer)
    except UnicodeDecodeError as err:
        raise Problem(400, f"the request body is not valid UTF-8: {err.reason}", field="body") from None
    except RecursionError:
        raise Problem(400, "the request body is nested too deeply", field="body") from None
    except ValueError as err:  # JSONDecodeError, and integers past Python's digit limit
        raise Problem(400, f"the request body is not valid JSON: {err}", field="body") from None
    if not isinstance(body, dict):
        raise Problem(400, "the request body must be a JSON object", field="body")
    return body


def _unique(pairs):
    # One value per key: keeping the last of two, as json does, hides what the client meant.
    body = {}
    for key, value in pairs:
        if key in body:
            raise Problem(400, f"the key {key[:60]!r} appears twice in one object; send it once", field="body")
        body[key] = value
    return body


def _integer(text):
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise Problem(422, f"an integer of {digits:,} digits is past every bound; none here takes more than "
                           f"{MAX_DIGITS} digits", field="body")
    return int(text)


def submission(settings):
    """(variant, resolved params, requested params, timeout_s, callback_url) from a POST /jobs body."""
    body = json_object(settings)
    for key in body:
        if key not in SUBMIT_FIELDS:
            raise Problem(422, f"unknown field; allowed: {', '.join(SUBMIT_FIELDS)}", field=key)
    if "variant" not in body:
        raise Problem(422, "is required", field="variant")
    try:
        resolved = fit_params.resolve(body["variant"], body.get("params"))
    except ParamError as err:
        raise Problem(422, err.detail, field=err.field) from None
    requested = body.get("params") or {}
    timeout_s = _timeout(body.get("timeout_s"), settings)
    return body["variant"], resolved, requested, timeout_s, callback_url(body.get("callback_url"), settings)


def sweep_submission(settings):
    """(variant, base params as sent, grid, resolved params of every point, timeout_s, callback_url, search)
    from a POST /sweeps body. Without a seed in params or grid, every point gets the same chosen seed. A
    random or tpe sweep has no points yet (the sweeper asks for them) and `search` says how; a grid's is None."""
    body = json_object(settings)
    strategy = search.strategy(body)
    # A search's trials come from the space, not a grid.
    allowed = SWEEP_FIELDS if strategy == "grid" else ("variant", "params", "timeout_s", "callback_url",
                                                       "strategy", *search.SEARCH_FIELDS)
    for key in body:
        if key not in allowed:
            raise Problem(422, f"unknown field for a {strategy} sweep; allowed: {', '.join(allowed)}", field=key)
    for key in ("variant", "grid") if strategy == "grid" else ("variant", "space"):
        if key not in body:
            raise Problem(422, "is required", field=key)
    base = body.get("params") or {}
    try:
        variant = fit_params.variant_named(body["variant"])
        first = fit_params.resolve(variant.name, base)  # checks the base; chooses the shared seed
    except ParamError as err:
        raise Problem(422, err.detail, field=err.field) from None
    shared = {**base, "seed": base.get("seed", first.get("seed"))} if "seed" in variant.params else base
    timeout_s = _timeout(body.get("timeout_s"), settings)
    if strategy != "grid":
        found = {**search.search(body, variant, base, shared, settings), "strategy": strategy, "base": shared}
        return variant.name, base, {}, [], timeout_s, callback_url(body.get("callback_url"), settings), found
    grid = body["grid"]
    points = _grid_points(grid, base, variant)
    resolved = []
    for point in points:
        try:
            resolved.append(fit_params.resolve(variant.name, {**shared, **point}))
        except ParamError as err:
            name = err.field.removeprefix("params.")
            field = f"grid.{name}" if name in point else err.field
            raise Problem(422, f"{err.detail} (at grid point {point})", field=field) from None
    return variant.name, base, grid, resolved, timeout_s, callback_url(body.get("callback_url"), settings), None


def callback_url(value, settings):
    """The webhook URL, None when absent; a 422 when it is not http(s) or leads to a loopback, private,
    link-local or metadata address (unless WEBHOOK_ALLOW_HOSTS names its host)."""
    if value is None:
        return None
    if not settings.webhook_secret:
        raise Problem(422, "this server sends no webhooks: it has no WEBHOOK_SECRET to sign them with",
                      field="callback_url")
    try:
        address.check(value, settings.webhook_hosts)
    except address.Refused as err:
        raise Problem(422, str(err), field="callback_url") from None
    return value


def _grid_points(grid, base, variant):
    # Every combination of the grid's lists, the last key varying fastest.
    if not isinstance(grid, dict) or not grid:
        raise Problem(422, "must be an object mapping parameters to lists of values", field="grid")
    total = 1
    for key, values in grid.items():
        if key not in variant.params:
            raise Problem(422, f"unknown parameter for {variant.name}; allowed: "
                               f"{', '.join(variant.params)}", field=f"grid.{key}")
        if key in base:
            raise Problem(422, "is in both params and grid; give it in one of them", field=f"grid.{key}")
        if not isinstance(values, list) or not values:
            raise Problem(422, "must be a non-empty list of values", field=f"grid.{key}")
        total *= len(values)
        if total > MAX_SWEEP_POINTS:
            raise Problem(422, f"the grid has more than {MAX_SWEEP_POINTS:,} points", field="grid")
    points = [{}]
    for key, values in grid.items():
        points = [{**point, key: value} for point in points for value in values]
    return points


def _timeout(value, settings):
    # The job's time budget: the server's default when absent, never past the server's maximum.
    if value is None:
        return settings.default_timeout_s
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= settings.max_timeout_s:
        raise Problem(422, f"must be an integer number of seconds from 1 to {settings.max_timeout_s}",
                      field="timeout_s")
    return value


def idempotency_key():
    """The Idempotency-Key header, if any, checked for length."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise Problem(400, f"must be 1 to {MAX_KEY} characters", field="Idempotency-Key")
    return key
