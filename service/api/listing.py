"""The GET /jobs query string: filters, order, limit and cursor, each checked (400 problems)."""
import base64
import binascii
import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime

from flask import request

from fits import params as fit_params
from fits.catalog import VARIANTS
from fits.errors import ParamError
from service.api.problems import Problem
from service.clock import iso
from service.store.jobs import is_id
from service.store.models import JobStatus
from service.store.query import Filters

STATUSES = tuple(s.value for s in JobStatus)
# A sort key, descending with a leading '-'; the first is the default. Ties go by id.
ORDERS = ("-created_at", "created_at", "final_loss", "-final_loss", "duration_s", "-duration_s",
          "excess_loss", "-excess_loss", "relative_excess_loss", "-relative_excess_loss")
# Upper bounds on the excess over the least-squares optimum (inclusive); jobs without one never match.
EXCESS_FIELDS = ("max_excess_loss", "max_relative_excess_loss")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 200  # ours are under 100 characters
STATUS_PATTERN = "^({0})(,({0}))*$".format("|".join(STATUSES))
# A decimal number; the bounded digits make every match finite (at most about 1e130).
NUMBER = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,2})?")
INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def _filter_rules():
    # One rule per parameter name, wide enough for every variant that takes it.
    merged = {}
    for variant in VARIANTS.values():
        for name, rule in fit_params.rules(variant).items():
            seen = merged.get(name, replace(rule, drawn=False))
            if rule.type == "string":
                merged[name] = replace(seen, choices=tuple(dict.fromkeys(seen.choices + rule.choices)))
            else:
                merged[name] = replace(seen, low=min(seen.low, rule.low), high=max(seen.high, rule.high))
    return dict(sorted(merged.items()))


PARAM_RULES = _filter_rules()
PARAM_FIELDS = tuple(f"param.{name}" for name in PARAM_RULES)
LISTING_FIELDS = ("variant", "status", "sweep", "created_after", "created_before", *EXCESS_FIELDS, *PARAM_FIELDS,
                  "order_by", "limit", "cursor")


def listing_query():
    """{filters, order, limit, after} from the query string of GET /jobs."""
    args = request.args
    for key in args:
        if key not in LISTING_FIELDS:
            raise Problem(400, f"unknown query parameter; allowed: {', '.join(LISTING_FIELDS)}", field=key)
    variant = args.get("variant")
    if variant is not None:
        try:
            fit_params.variant_named(variant)
        except ParamError as err:
            raise Problem(400, err.detail, field="variant") from None
    sweep = args.get("sweep")
    if sweep is not None and not is_id(sweep):
        raise Problem(400, "is not a sweep id", field="sweep")
    order = args.get("order_by", ORDERS[0])
    if order not in ORDERS:
        raise Problem(400, f"must be one of {', '.join(ORDERS)}", field="order_by")
    filters = Filters(
        variant=variant, statuses=_statuses(args.get("status")), sweep=sweep,
        created_after=_moment(args.get("created_after"), "created_after"),
        created_before=_moment(args.get("created_before"), "created_before"),
        params={field[len("param."):]: _param(field, args[field]) for field in PARAM_FIELDS if field in args},
        **{field: _number(args.get(field), field) for field in EXCESS_FIELDS})
    return {"filters": filters, "order": order, "after": _cursor(args.get("cursor"), order),
            "limit": bounded(args.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT, "limit")}


def bounded(raw, default, least, most, field):
    """An integer from least to most given in the query string as `field`; `default` when absent."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not least <= int(raw) <= most:
        raise Problem(400, f"must be an integer from {least} to {most}", field=field)
    return int(raw)


def _statuses(raw):
    if raw is None:
        return ()
    wanted = raw.split(",")
    if not all(s in STATUSES for s in wanted):
        raise Problem(400, f"must be one or more of {', '.join(STATUSES)}, comma-separated", field="status")
    return tuple(dict.fromkeys(wanted))


def _moment(raw, field):
    if raw is None:
        return None
    # A '+' sent unencoded in a URL arrives as a space: 2026-11-27T10:00:00 02:00.
    text = re.sub(r" ([0-9]{2}:?[0-9]{2})$", r"+\1", raw)
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Problem(400, "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-27T05:39:11Z",
                      field=field) from None


def _number(raw, field):
    if raw is None:
        return None
    if not NUMBER.fullmatch(raw):
        raise Problem(400, "must be a finite decimal number, e.g. 0.01", field=field)
    return float(raw)


def _param(field, raw):
    # Read as the parameter's own type, then held to the same bounds a submission is: a value no job
    # could have is a mistake worth saying, not an empty page.
    rule = PARAM_RULES[field[len("param."):]]
    value = raw
    if rule.type == "integer":
        value = int(raw) if INTEGER.fullmatch(raw) else raw
    elif rule.type == "number":
        value = float(raw) if NUMBER.fullmatch(raw) else raw
    try:
        return rule.check(field, value)
    except ParamError as err:
        raise Problem(400, err.detail, field=field) from None


def encode_cursor(position, order):
    """An opaque cursor that continues a listing in `order` after `position` (value, id)."""
    value, job_id = position
    if isinstance(value, datetime):
        value = iso(value)
    return base64.urlsafe_b64encode(json.dumps([job_id, order, value]).encode()).decode().rstrip("=")


def _cursor(raw, order):
    # [id, order, value]: value is an ISO 8601 created_at, a number, or null (no final_loss or
    # duration_s yet). A created_at cursor from before 0005 is [id, order]: its job's created_at.
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR:
        raise Problem(400, "is not a cursor this listing handed out", field="cursor")
    try:
        payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        by_time = order.lstrip("-") == "created_at"
        if not isinstance(payload, list) or len(payload) not in ((2, 3) if by_time else (3,)):
            raise ValueError
        job_id, cursor_order, value = (*payload, None)[:3]
        if not is_id(job_id) or cursor_order != order:
            raise ValueError
        value = _moment_value(value) if by_time else value
        if not _is_value(value):
            raise ValueError
        if isinstance(value, int):
            # Our cursors hold floats; an integer past 64 bits would overflow the driver (a 500), and
            # one within them compares the same as a float: losses and durations are floats.
            value = float(value)
    except (ValueError, TypeError, RecursionError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise Problem(400, "is not a cursor this listing handed out (or order_by changed)",
                      field="cursor") from None
    return value, job_id


def _moment_value(value):
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)  # TypeError unless a string, ValueError unless a moment
    if moment.tzinfo is None:
        raise ValueError
    return moment.astimezone(UTC)


def _is_value(value):
    return value is None or isinstance(value, datetime) or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
