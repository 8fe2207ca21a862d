#!/usr/bin/env python3
"""Container healthcheck: `fitq-healthcheck http` (the API answers) or `backends` (Redis and the database do)."""
import os
import sys
import urllib.request


def http() -> None:
    """The API in this container answers GET /healthz."""
    port = os.environ.get("PORT") or "8000"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
        if answer.status != 200:
            raise RuntimeError(f"/healthz answered {answer.status}")


def backends() -> None:
    """Redis and the database answer, so a worker or sweeper here can do its work."""
    # Imported here so the API's check stays a bare urllib call.
    import redis
    from sqlalchemy import create_engine, text

    redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=3, socket_connect_timeout=3).ping()
    url = os.environ["DATABASE_URL"]
    engine = create_engine(url, connect_args={"connect_timeout": 3} if url.startswith("postgresql") else {})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


CHECKS = {"http": http, "backends": backends}


def main(argv) -> int:
    """Run the named check; exit 0 when it passes, 1 with one line on stderr when it does not."""
    if len(argv) != 1 or argv[0] not in CHECKS:
        print(f"usage: fitq-healthcheck {{{'|'.join(CHECKS)}}}", file=sys.stderr)
        return 2
    try:
        CHECKS[argv[0]]()
    except Exception as err:  # any failure is "unhealthy"; its one line shows in `docker inspect`
        print(f"fitq-healthcheck {argv[0]}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
