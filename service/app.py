"""The Flask application factory."""
from dataclasses import dataclass

import redis
from flask import Flask

from service.db import make_engine, make_sessionmaker
from service.queue import make_celery
from service.settings import Settings


@dataclass
class State:
    """What the routes share: settings, sessions, and the Celery app they send with."""

    settings: Settings
    engine: object
    sessions: object
    celery: object
    redis: object  # for /readyz; connects on first use


def create_app(settings=None) -> Flask:
    """Build the API for `settings` (default: from the environment)."""
    from service import api, problems

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    engine = make_engine(settings.database)
    probe = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.extensions["fitq"] = State(settings, engine, make_sessionmaker(engine), make_celery(settings),
                                   probe)
    problems.register(app)
    app.register_blueprint(api.blueprint, url_prefix="/api/v1")
    app.register_blueprint(api.probes)
    return app
