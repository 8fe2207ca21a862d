"""CORS, closed unless CORS_ORIGINS names who may call from a browser."""
from flask import current_app, request

ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
# Headers a browser script may read besides the simple ones.
EXPOSE_HEADERS = "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, Idempotent-Replayed"
MAX_AGE_S = 600


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
