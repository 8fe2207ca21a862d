"""Reading what a client sent: JSON bodies, headers and query strings, each checked."""
import base64
import binascii
import json

from flask import request

from fits import params as fit_params
from fits.errors import ParamError
from service.jobs import is_id
from service.models import JobStatus
from service.problems import Problem

SUBMIT_FIELDS = ("variant", "params", "timeout_s")
LISTING_FIELDS = ("variant", "status", "order_by", "limit", "cursor")
ORDERS = ("-created_at", "created_at")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_KEY = 200  # the idempotency_key column's width
MAX_CURSOR = 200  # ours are about 70 characters


def json_object():
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise Problem(400, "the request body is empty; send a JSON object", field="body")
    try:
        # Strict UTF-8 first: json.loads(bytes) would let encoded surrogates through.
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise Problem(400, f"the request body is not valid UTF-8: {err.reason}", field="body") from None
    except RecursionError:
        raise Problem(400, "the request body is nested too deeply", field="body") from None
    except ValueError as err:  # JSONDecodeError, and integers past Python's digit limit
        raise Problem(400, f"the request body is not valid JSON: {err}", field="body") from None
    if not isinstance(body, dict):
        raise Problem(400, "the request body must be a JSON object", field="body")
    return body


def submission(settings):
    """(variant, resolved params, requested params, timeout_s) from a POST /jobs body."""
    body = json_object()
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
    return body["variant"], resolved, requested, _timeout(body.get("timeout_s"), settings)


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


def listing_query():
    """Checked filters for GET /jobs: variant, status, order_by, limit, cursor."""
    for key in request.args:
        if key not in LISTING_FIELDS:
            raise Problem(400, f"unknown query parameter; allowed: {', '.join(LISTING_FIELDS)}",
                          field=key)
    args = request.args
    variant = args.get("variant")
    if variant is not None:
        try:
            fit_params.variant_named(variant)
        except ParamError as err:
            raise Problem(400, err.detail, field="variant") from None
    status = args.get("status")
    if status is not None and status not in {s.value for s in JobStatus}:
        raise Problem(400, f"must be one of {', '.join(s.value for s in JobStatus)}", field="status")
    order = args.get("order_by", ORDERS[0])
    if order not in ORDERS:
        raise Problem(400, f"must be one of {', '.join(ORDERS)}", field="order_by")
    return {"variant": variant, "status": status, "order": order,
            "limit": _limit(args.get("limit", str(DEFAULT_LIMIT))),
            "after": _cursor(args.get("cursor"), order)}


def _limit(raw):
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Problem(400, f"must be an integer from 1 to {MAX_LIMIT}", field="limit")
    return int(raw)


def encode_cursor(after, order):
    """An opaque cursor that continues a listing after job `after` in `order`."""
    return base64.urlsafe_b64encode(json.dumps([after, order]).encode()).decode().rstrip("=")


def _cursor(raw, order):
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR:
        raise Problem(400, "is not a cursor this listing handed out", field="cursor")
    try:
        after, cursor_order = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not is_id(after) or cursor_order != order:
            raise ValueError
    except (ValueError, TypeError, RecursionError, binascii.Error, UnicodeDecodeError):
        raise Problem(400, "is not a cursor this listing handed out (or order_by changed)",
                      field="cursor") from None
    return after
