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


COMMANDS = {"up": up, "api": api, "worker": worker, "migrate": migrate}


def main(argv=None):
    """Entry point of the `fitq` console script."""
    parser = argparse.ArgumentParser(prog="fitq", description="fitq: polynomial-fit jobs as a service")
    parser.add_argument("command", choices=sorted(COMMANDS), help="what to run")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as err:
        parser.exit(2, f"fitq: {err}\n")
    if args.command in ("api", "worker") and not settings.redis_url:
        parser.exit(2, "fitq: REDIS_URL is not set; `fitq up` runs an embedded Redis for you\n")
    try:
        return COMMANDS[args.command](settings) or 0
    except DBAPIError as err:
        # One clear line, not a traceback: the usual cause is a wrong DATABASE_URL or a server down.
        parser.exit(1, f"fitq: cannot use the database {shown(settings.database)}: {err.orig}\n")


if __name__ == "__main__":
    sys.exit(main())
