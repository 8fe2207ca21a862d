"""CORS, closed unless CORS_ORIGINS names who may call from a browser."""
from flask import current_app, request

from service.api.problems import Problem

ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
# Headers a browser script may read besides the simple ones.
EXPOSE_HEADERS = "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, Idempotent-Replayed"
MAX_AGE_S = 600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Sec-Fetch-Site values that are no other origin's page: this origin's own, or the user at the address bar.
OWN_SITES = ("same-origin", "none")


def _allowed_origin():
    # The request's Origin when CORS_ORIGINS lets it in, else None.
    origin = request.headers.get("Origin")
    origins = current_app.extensions["fitq"].settings.origins
    if origin and ("*" in origins or origin in origins):
        return origin
    return None


def preflight():
    """Before a request: answer an allowed origin's preflight here, before it needs a token."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    if _allowed_origin() is None:
        return None
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = str(MAX_AGE_S)
    return response


def headers(response):
    """After a request: let an allowed origin read the answer; anyone else gets no CORS header."""
    origin = _allowed_origin()
    if origin is not None:
        # The origin is echoed, never *, so the answer varies with it and caches must know.
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response


def cross_origin_write():
    """Before a request: refuse a write sent by a page on another origin that CORS_ORIGINS does not name.

    A browser sends a cross-origin form post or no-cors fetch without asking first, so CORS alone
    would only hide the answer; the write would be done. Clients outside a browser send no Origin."""
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin is None:
        if request.headers.get("Sec-Fetch-Site", "none") in OWN_SITES:
            return None
    elif _same_origin(origin) or _allowed_origin() is not None:
        return None
    raise Problem(403, f"a {request.method} from the page at {(origin or 'another site')[:100]!r} is refused: "
                       "only this origin and CORS_ORIGINS may write", field="Origin")


def _same_origin(origin):
    # This API's own pages: the origin the request was sent to (its Host is on the allow-list), or BASE_URL.
    settings = current_app.extensions["fitq"].settings
    scheme, _, netloc = origin.lower().partition("://")
    if origin.lower() == settings.public_url.lower():
        return True
    return scheme in ("http", "https") and netloc == request.host.lower()
