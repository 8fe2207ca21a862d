"""Fixed one-minute windows of requests per client, counted in Redis so all API processes share them."""
import logging
import math
import time

import redis
from flask import current_app, g, request

from service.api.guards.auth import caller, guarded
from service.api.problems import problem_response

WINDOW_S = 60
# After Redis fails, requests go uncounted this long before it is asked again: one warning, no stalls.
QUIET_S = 30
log = logging.getLogger(__name__)


class Limiter:
    """Counts each client's requests per window in Redis; fails open while Redis is unreachable."""

    def __init__(self, client, per_minute):
        self.client, self.per_minute = client, per_minute
        self.quiet_until = 0.0

    def hit(self, who):
        """(requests `who` made in this window, seconds left in it), or None when nothing is counted."""
        now = time.time()
        if self.per_minute <= 0 or now < self.quiet_until:
            return None
        window = int(now // WINDOW_S)
        key = f"fitq:rate:{who}:{window}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW_S)
            count = pipe.execute()[0]
        except redis.RedisError as err:
            self.quiet_until = now + QUIET_S
            log.warning("rate limits not enforced for %d s: Redis could not be used (%s)", QUIET_S,
                        type(err).__name__)
            return None
        return count, (window + 1) * WINDOW_S - now


def limit():
    """Before a request to /api/v1 or /metrics: count it; 429 once its client is over the limit."""
    g.rate = None
    if not guarded(request.path):
        return None
    limiter = current_app.extensions["fitq"].limiter
    counted = limiter.hit(caller())
    if counted is None:
        return None
    count, left_s = counted
    g.rate = (limiter.per_minute, max(0, limiter.per_minute - count))
    if count <= limiter.per_minute:
        return None
    retry = max(1, math.ceil(left_s))
    response = problem_response(429, f"more than {limiter.per_minute} requests this minute; "
                                     f"try again in {retry} s", retry_after_s=retry)
    response.headers["Retry-After"] = str(retry)
    return response


def headers(response):
    """After a counted request: tell the client its limit and what is left of it."""
    if g.get("rate"):
        response.headers["RateLimit-Limit"], response.headers["RateLimit-Remaining"] = map(str, g.rate)
    return response
