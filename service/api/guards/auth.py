"""Bearer tokens on /api/v1: who is calling, and a 401 that says what is missing or wrong."""
from flask import current_app, g, request

from service.api.guards import tenancy
from service.api.problems import problem_response
from service.store import tokens

API_PREFIX = "/api/v1"
# Open without a token even when AUTH is on: the API's own description.
PUBLIC = frozenset({("GET", "/api/v1/openapi.json"), ("HEAD", "/api/v1/openapi.json")})
CHALLENGE = 'Bearer realm="fitq"'
# Outside /api/v1 but guarded like it: the metrics are not for strangers, and each scrape runs
# aggregate queries. The probes stay open: orchestrators call them without credentials.
GUARDED_ROOT = frozenset({"/metrics"})


def guarded(path) -> bool:
    """Whether tokens (when AUTH wants them) and rate limits apply to `path`: /api/v1 and /metrics."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/") or path in GUARDED_ROOT


def identify():
    """Before a request: note the caller's token id in g.token_id, or in g.refusal why there is none."""
    g.token_id, g.refusal, g.caller = None, None, None
    state = current_app.extensions["fitq"]
    public = (request.method, request.path) in PUBLIC
    if not state.settings.auth_required or not guarded(request.path) or public:
        return
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if not scheme:
        g.refusal = "missing: this API needs a token, sent as `Authorization: Bearer <token>`"
    elif scheme.lower() != "bearer":
        g.refusal = f"the {scheme[:20]!r} scheme is not accepted; send `Authorization: Bearer <token>`"
    elif not token.strip():
        g.refusal = "no token after `Bearer`; send `Authorization: Bearer <token>`"
    else:
        with state.sessions() as session:
            try:
                row = tokens.verify(session=session, text=token.strip())
                g.token_id, g.caller = row.id, tenancy.from_token(row)
            except tokens.TokenError as err:
                g.refusal = str(err)


def caller() -> str:
    """Whom a request counts against: its token once identified, else its address."""
    return f"token:{g.token_id}" if g.get("token_id") else f"addr:{request.remote_addr}"


def require():
    """Before a request, after rate limiting: answer 401 if `identify` found no valid token, 403 if the
    token's scopes do not cover the route."""
    if not g.get("refusal"):
        return tenancy.check()
    detail = g.refusal
    with current_app.extensions["fitq"].sessions() as session:
        if not tokens.any_active(session=session):
            detail += "; no token exists yet: create one on the server with `fitq token create NAME`"
    response = problem_response(401, detail, field="Authorization")
    response.headers["WWW-Authenticate"] = CHALLENGE
    return response
