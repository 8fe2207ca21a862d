"""The `fitq` command: up, api, worker, migrate."""
import argparse
import os
import sys

from sqlalchemy.exc import DBAPIError

from service.db import shown
from service.settings import Settings


def api(settings):
    """Serve the API with gunicorn (replaces this process)."""
    os.execvp(sys.executable, [
        sys.executable, "-m", "gunicorn", "--bind", f"{settings.host}:{settings.port}",
        "--workers", str(settings.api_workers), "--log-level", settings.log_level,
        "--access-logfile", "-", "service.app:create_app()"])


def worker(settings):
    """Run a Celery worker on the configured queues (replaces this process)."""
    os.execvp(sys.executable, [
        sys.executable, "-m", "celery", "-A", "worker.main", "worker",
        "--pool", settings.worker_pool, "--concurrency", str(settings.worker_concurrency),
        "--queues", ",".join(settings.queues), "--loglevel", settings.log_level,
        "--hostname", f"fitq-{os.getpid()}@%h", "--without-gossip", "--without-mingle"])


def migrate(settings):
    """alembic upgrade head on the configured database."""
    from service.migrate import upgrade

    upgrade(settings.database)
    print(f"fitq: database at head ({shown(settings.database)})")


def up(settings):
    """Everything in the foreground: Redis (embedded unless REDIS_URL), migrations, API, worker."""
    from service.supervisor import run

    return run(settings)


def sweeper(settings):
    """Re-send lost messages and recover jobs whose worker died, every SWEEP_INTERVAL_S."""
    from service.sweeper import run

    return run(settings)


# name -> (function, one-line help, needs REDIS_URL)
COMMANDS = {
    "up": (up, "run everything in the foreground (embedded Redis and SQLite by default)", False),
    "api": (api, "serve the HTTP API with gunicorn", True),
    "worker": (worker, "run a Celery worker that trains fits", True),
    "sweeper": (sweeper, "recover jobs whose message or worker was lost", True),
    "migrate": (migrate, "upgrade the database schema to head", False),
}


def main(argv=None):
    """Entry point of the `fitq` console script."""
    parser = argparse.ArgumentParser(prog="fitq", description="fitq: polynomial-fit jobs as a service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, _) in COMMANDS.items():
        commands.add_parser(name, help=help_text, description=help_text)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as err:
        parser.exit(2, f"fitq: {err}\n")
    run, _, needs_redis = COMMANDS[args.command]
    if needs_redis and not settings.redis_url:
        parser.exit(2, "fitq: REDIS_URL is not set; `fitq up` runs an embedded Redis for you\n")
    problems = settings.contradictions()
    if problems:
        parser.exit(2, "".join(f"fitq: {p}\n" for p in problems))
    try:
        return run(settings) or 0
    except DBAPIError as err:
        # One clear line, not a traceback: the usual cause is a wrong DATABASE_URL or a server down.
        parser.exit(1, f"fitq: cannot use the database {shown(settings.database)}: {err.orig}\n")


if __name__ == "__main__":
    sys.exit(main())
