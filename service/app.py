"""The Flask application factory."""
from dataclasses import dataclass

import redis
from flask import Flask

from service.queue import make_celery
from service.settings import Settings
from service.store.db import make_engine, make_sessionmaker


@dataclass
class State:
    """What the routes share: settings, sessions, and the Celery app they send with."""

    settings: Settings
    engine: object
    sessions: object
    celery: object
    redis: object  # for /readyz and the rate limiter; connects on first use
    limiter: object
    hub: object = None  # wakes this process's open streams (service/api/wakeups.py)
    snapshots: object = None  # their shared reads (service/api/snapshots.py)


def create_app(settings=None) -> Flask:
    """Build the API for `settings` (default: from the environment)."""
    from service import logs
    from service.api import monitoring, problems, snapshots, streams, wakeups, webhooks
    from service.api import routes as api
    from service.api.guards import auth, cors, hosts, ratelimit, redirects
    from service.api.results import routes as results
    from service.web import dashboard, reference

    settings = settings or Settings.from_env()
    logs.configure(settings)
    app = Flask(__name__, static_folder=None)  # no /static: the dashboard serves its few files itself
    # One byte over the limit, so that a chunked body (no Content-Length, read up to this) that is too
    # big shows it by its length: werkzeug would stop at the limit and hand on the truncated body.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.json.sort_keys = False
    engine = make_engine(settings.database)
    probe = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.extensions["fitq"] = State(settings, engine, make_sessionmaker(engine), make_celery(settings),
                                   probe, ratelimit.Limiter(probe, settings.rate_limit_per_minute),
                                   wakeups.Hub(settings.redis_url))
    state = app.extensions["fitq"]
    state.snapshots = snapshots.Snapshots(state.hub, settings.stream_poll_s)
    problems.register(app)
    # A foreign Host is refused first (DNS rebinding). A preflight is answered before it could need a
    # token, and a cross-origin write refused before it could count; a bad token still counts against
    # its address before it is refused, so guessing is rate limited too.
    app.before_request(hosts.check)
    app.before_request(cors.preflight)
    app.before_request(cors.cross_origin_write)
    app.before_request(auth.identify)
    app.before_request(ratelimit.limit)
    app.before_request(auth.require)
    app.after_request(ratelimit.headers)
    app.after_request(cors.headers)
    app.after_request(redirects.rebase)
    app.register_blueprint(api.blueprint, url_prefix=auth.API_PREFIX)
    app.register_blueprint(results.blueprint, url_prefix=auth.API_PREFIX)
    app.register_blueprint(webhooks.blueprint, url_prefix=auth.API_PREFIX)
    app.register_blueprint(streams.blueprint, url_prefix=auth.API_PREFIX)
    app.register_blueprint(api.probes)
    app.register_blueprint(monitoring.blueprint)
    app.register_blueprint(dashboard.blueprint)  # / and /assets: open, like the probes
    app.register_blueprint(reference.blueprint)
    return app
