"""The `fitq` command: up, api, worker, sweeper, deliver, migrate, token, workers; and the API's client:
submit, jobs, show, compare, sweep, cancel (service/cli/jobs.py)."""
import argparse
import os
import sys
from datetime import UTC

# No SQLAlchemy at the top: the HTTP client commands start fast and need none of the server's packages.
from service.cli import jobs as cli_jobs
from service.cli import options as cli_options
from service.settings import Settings


def api(settings):
    """Serve the API with gunicorn (replaces this process)."""
    # With LOG_FORMAT=json gunicorn's own lines (start-up, access log) are JSON lines too.
    json_logs = ["--logger-class", "service.logs.gunicorn_logger"] if settings.log_format == "json" else []
    # gevent: a connection that sends half a request and goes silent holds a greenlet, not a worker
    # process, so it cannot keep other requests waiting (and long-lived streams cost little).
    connections = (["--worker-connections", str(settings.api_worker_connections)]
                   if settings.api_worker_class == "gevent" else [])
    os.execvp(sys.executable, [
        sys.executable, "-m", "gunicorn", "--bind", f"{settings.host}:{settings.port}",
        "--workers", str(settings.api_workers), "--worker-class", settings.api_worker_class, *connections,
        "--log-level", settings.log_level, "--access-logfile", "-", *json_logs,
        # Its hooks let open event streams close when their worker stops, not hold it up.
        "--config", "python:service.api.serving", "service.app:create_app()"])


def worker(settings):
    """Run a Celery worker on the configured queues (replaces this process)."""
    os.execvp(sys.executable, [
        sys.executable, "-m", "celery", "-A", "worker.main", "worker",
        "--pool", settings.worker_pool, "--concurrency", str(settings.worker_concurrency),
        "--queues", ",".join(settings.queues), "--loglevel", settings.log_level,
        "--hostname", f"fitq-{os.getpid()}@%h", "--without-gossip", "--without-mingle"])


def migrate(settings):
    """alembic upgrade head on the configured database."""
    from service.store.db import shown
    from service.store.migrate import upgrade

    upgrade(settings.database)
    print(f"fitq: database at head ({shown(settings.database)})")


def up(settings):
    """Everything in the foreground: Redis (embedded unless REDIS_URL), migrations, API, worker."""
    from service.ops.supervisor import run

    return run(settings)


def sweeper(settings):
    """Re-send lost messages and recover jobs whose worker died, every SWEEP_INTERVAL_S."""
    from service.ops.sweeper import run

    return run(settings)


def deliver(settings):
    """POST each due webhook, signed, retrying with backoff (WEBHOOK_RETRY_FOR_S)."""
    from service.ops.deliverer import run

    return run(settings)


def workers(settings, args):
    """Print the live workers, read from Redis directly: it works while the API is down or wants a
    token, and needs only the REDIS_URL every fitq process already has. Without REDIS_URL (the
    embedded default) it asks the API at --url (FITQ_URL) instead."""
    from datetime import datetime

    import redis

    from service import roster as reports
    from service.cli import tables
    from service.store.db import shown

    if not settings.redis_url:
        live = _workers_over_http(args.url, args.token)
    else:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        try:
            live = reports.live(client)
        except redis.RedisError as err:
            raise SystemExit(f"fitq: cannot read the workers from Redis {shown(settings.redis_url)}: "
                             f"{err}") from None
        finally:
            client.close()
    if not live:
        print("fitq: no live worker; start one with `fitq worker`", file=sys.stderr)
        return
    print("\n".join(tables.workers_table(live, datetime.now(UTC))))


def _workers_over_http(url, token):
    # No REDIS_URL: the embedded default's Redis is private to `fitq up`, so ask its API instead.
    from service.cli.client import ApiError, Client

    try:
        return Client(url, token).get("/api/v1/workers")
    except ApiError as err:
        raise SystemExit(f"fitq: REDIS_URL is not set and the API at {url} did not list the workers: "
                         f"{err}") from None


def token(settings, args):
    """Create, list or revoke the API's tokens."""
    from service.store import tokens
    from service.store.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database)
    try:
        with make_sessionmaker(engine)() as session:
            if args.action == "create":
                row, text = tokens.create(session=session, name=args.name, owner=args.owner,
                                          scopes=tokens.parse_scopes(args.scopes))
                print(text)
                print(f"fitq: created token {row.id} ({row.name}) for owner {row.owner} with scopes "
                      f"{row.scopes.replace(' ', ',')}; it cannot be shown again, so store it now", file=sys.stderr)
            elif args.action == "revoke":
                row = tokens.revoke(session=session, which=args.which)
                print(f"fitq: revoked token {row.id} ({row.name})", file=sys.stderr)
            else:
                _token_table(tokens.listing(session=session))
    except tokens.TokenError as err:
        raise SystemExit(f"fitq: {err}") from None
    finally:
        engine.dispose()


def _token_table(rows):
    from service.store.tokens import stamp

    if not rows:
        print("fitq: no tokens yet; create one with `fitq token create NAME`", file=sys.stderr)
        return
    width, owners = max(4, *(len(r.name) for r in rows)), max(5, *(len(r.owner) for r in rows))
    scopes = max(6, *(len(r.scopes) for r in rows))
    print(f"{'ID':8}  {'NAME':{width}}  {'OWNER':{owners}}  {'SCOPES':{scopes}}  {'CREATED':23}  {'REVOKED':23}  "
          "LAST USED")
    for r in rows:
        print(f"{r.id:8}  {r.name:{width}}  {r.owner:{owners}}  {r.scopes.replace(' ', ','):{scopes}}  "
              f"{stamp(r.created_at):23}  {stamp(r.revoked_at):23}  {stamp(r.last_used_at)}")


def token_arguments(parser):
    """The token command's own actions: create NAME, list, revoke ID_OR_NAME."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it, this once only")
    create.add_argument("name", metavar="NAME", help="what the token is for, e.g. ci or alice-laptop")
    create.add_argument("--owner", help="the tenant it acts for: its jobs and sweeps (default: NAME)")
    create.add_argument("--scopes", default="read,submit",
                        help="comma-separated: read, submit, admin (every owner's jobs), metrics (/metrics "
                             "alone, for a scraper); default read,submit")
    actions.add_parser("list", help="every token's id, name and dates (never its secret)")
    revoke = actions.add_parser("revoke", help="revoke a token at once, by its id or its name")
    revoke.add_argument("which", metavar="ID_OR_NAME")


# name -> (function, one-line help, needs REDIS_URL, configure(subparser) or None). A command that
# configures its subparser is called with the parsed arguments too; an API client command (its
# configure sets `http`) is called with those alone, and reads no server setting.
COMMANDS = {
    "up": (up, "run everything in the foreground (embedded Redis and SQLite by default)", False, None),
    "api": (api, "serve the HTTP API with gunicorn", True, None),
    "worker": (worker, "run a Celery worker that trains fits", True, None),
    "sweeper": (sweeper, "recover jobs whose message or worker was lost", True, None),
    "deliver": (deliver, "send the webhooks of ended jobs and sweeps (their callback_url), signed", False, None),
    "migrate": (migrate, "upgrade the database schema to head", False, None),
    "token": (token, "create, list or revoke API tokens", False, token_arguments),
    "workers": (workers, "list the live workers: device, queues, current jobs, last heartbeat", False,
                cli_options.address_arguments),
    "submit": (cli_jobs.submit, "submit a fit job to the API; --wait shows its progress and result", False,
               cli_options.submit_arguments),
    "jobs": (cli_jobs.jobs, "list jobs from the API: filter, sort, a table", False, cli_options.jobs_arguments),
    "show": (cli_jobs.show, "show one job from the API", False, cli_options.one_job),
    "compare": (cli_jobs.compare, "compare jobs side by side, with the least-squares optimum", False,
                cli_options.compare_arguments),
    "sweep": (cli_jobs.sweep, "submit a grid of jobs, or a random or tpe search, to the API; --wait prints "
              "the best", False, cli_options.sweep_arguments),
    "cancel": (cli_jobs.cancel, "cancel a queued or running job", False, cli_options.one_job),
    "whoami": (cli_jobs.whoami, "what the token may do: its owner and scopes", False,
               cli_options.connection_only),
}


def main(argv=None):
    """Entry point of the `fitq` console script."""
    parser = argparse.ArgumentParser(prog="fitq", description="fitq: polynomial-fit jobs as a service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, _, configure) in COMMANDS.items():
        subparser = commands.add_parser(name, help=help_text, description=help_text)
        if configure:
            configure(subparser)
    args = parser.parse_args(argv)
    if getattr(args, "http", False):
        return COMMANDS[args.command][0](args)
    try:
        settings = Settings.from_env()
    except ValueError as err:
        parser.exit(2, f"fitq: {err}\n")
    run, _, needs_redis, configure = COMMANDS[args.command]
    if needs_redis and not settings.redis_url:
        parser.exit(2, "fitq: REDIS_URL is not set; `fitq up` runs an embedded Redis for you\n")
    problems = settings.contradictions()
    if problems:
        parser.exit(2, "".join(f"fitq: {p}\n" for p in problems))
    from sqlalchemy.exc import DBAPIError

    from service.store.db import shown
    try:
        return (run(settings, args) if configure else run(settings)) or 0
    except DBAPIError as err:
        # One clear line, not a traceback: the usual cause is a wrong DATABASE_URL or a server down.
        parser.exit(1, f"fitq: cannot use the database {shown(settings.database)}: {err.orig}\n")


if __name__ == "__main__":
    sys.exit(main())
