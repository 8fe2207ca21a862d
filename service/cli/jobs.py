"""`fitq submit|jobs|show|compare|sweep|cancel`: the API's client, over HTTP only (FITQ_URL, FITQ_TOKEN).
Their arguments are in service/cli/options.py."""
import functools
import sys
import time
from urllib.parse import quote

from service.cli import streams, tables
from service.cli.client import ApiError, Client
from service.cli.options import value
from service.cli.progress import Progress

FINISHED = frozenset({"succeeded", "failed", "diverged", "cancelled"})
PAGE = 200  # the most jobs one GET /jobs answers
PATIENCE_S = 60.0  # how long a wait rides out an API that stopped answering (a restart, a deploy)
EXIT_JOB = 1  # with --wait: the job (every job of a sweep) did not succeed
EXIT_API = 3  # fitq refused the request, or could not be reached
EXIT_INTERRUPTED = 130  # Ctrl-C while waiting: the job goes on


def command(function):
    """A subcommand run against the API: a client from --url/--token, an ApiError as one line, exit 3."""

    @functools.wraps(function)
    def run(args):
        try:
            return function(Client(args.url, args.token), args) or 0
        except ApiError as err:
            print(f"fitq: {err}", file=sys.stderr)
            return EXIT_API

    return run


def _body(args, **more):
    # What submit and sweep send: the variant, its --param values, --timeout when given, and more.
    body = {"variant": args.variant, "params": {k: value(v) for k, v in args.param}, **more}
    if args.timeout is not None:
        body["timeout_s"] = args.timeout
    return body


@command
def submit(client, args):
    """Submit a job; with --wait, follow it to the end and print its result."""
    job = client.post("/api/v1/jobs", _body(args))
    if not args.wait:
        print(job["id"])
        print(f"fitq: job {job['id']} {job['status']}; `fitq show {job['id']}` to look it up",
              file=sys.stderr)
        _notice(job, Progress())
        return 0
    return _follow(client, job)


@command
def jobs(client, args):
    """List jobs, filtered and sorted, as a table."""
    order = args.order or ("desc" if args.sort == "created_at" else "asc")
    query = {"variant": args.variant, "status": args.status, "sweep": args.sweep,
             "created_after": args.created_after, "created_before": args.created_before,
             "order_by": ("-" if order == "desc" else "") + args.sort,
             **{f"param.{k}": v for k, v in args.param}}
    items, cursor = [], None
    while len(items) < args.limit:
        page = client.get("/api/v1/jobs", **query, limit=min(PAGE, args.limit - len(items)),
                          cursor=cursor)
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    if not items:
        print("fitq: no job matches", file=sys.stderr)
        return 0
    print("\n".join(tables.listing_lines(items)))
    if cursor:
        print(f"fitq: more jobs match than these {len(items)}; raise --limit to see them", file=sys.stderr)


@command
def show(client, args):
    """One job, readable."""
    print("\n".join(tables.job_lines(client.get(f"/api/v1/jobs/{quote(args.id, safe='')}"))))


@command
def whoami(client, args):
    """The caller's owner and scopes, as the API sees its token."""
    me = client.get("/api/v1/whoami")
    token = me.get("token") or {}
    print(f"owner   {me['owner']}\nscopes  {','.join(me['scopes'])}\n"
          f"token   {token.get('id', '-')} ({token.get('name', 'none: this API wants no token')})\n"
          f"sees    {'every owner' if me.get('sees_all_owners') else 'its own owner'}'s jobs")


@command
def compare(client, args):
    """Jobs side by side, with each one's gap to the least-squares optimum."""
    items = client.get("/api/v1/compare", ids=",".join(args.ids))["items"]
    print("\n".join(tables.compare_lines(items)))


@command
def sweep(client, args):
    """Create a sweep; with --wait, follow it and print its best job."""
    made = client.post("/api/v1/sweeps", _body(args, grid=dict(args.grid)))
    if not args.wait:
        print(made["id"])
        print(f"fitq: sweep {made['id']}: {made['size']} jobs; `fitq jobs --sweep {made['id']}` lists them",
              file=sys.stderr)
        return 0
    progress = Progress()
    _announce(progress, f"sweep {made['id']}")

    def show(s):
        progress.show(_done(s), s["size"], f"sweep {s['id']}", _counts(s), s["finished"])

    def fetch():
        return client.get(f"/api/v1/sweeps/{made['id']}")

    try:
        try:
            done = _streamed_sweep(client, made, show, fetch, progress.note)
        except streams.Unavailable as err:
            progress.note(f"fitq: no event stream ({err}); polling instead")
            done = _until(progress, fetch, lambda s: s["finished"], show)
    except KeyboardInterrupt:
        return _interrupted(progress, f"sweep {made['id']}", f"fitq jobs --sweep {made['id']}")
    finally:
        progress.close()
    print(f"sweep {done['id']}: {done['size']} jobs, {_counts(done)}")
    if done["best"] is None:
        print(f"fitq: no job of sweep {done['id']} succeeded; `fitq jobs --sweep {done['id']}` lists them",
              file=sys.stderr)
        return EXIT_JOB
    print("best:")
    print("\n".join(tables.result_lines(client.get(f"/api/v1/jobs/{done['best']['job_id']}"))))


@command
def cancel(client, args):
    """Cancel a queued or running job."""
    job = client.post(f"/api/v1/jobs/{quote(args.id, safe='')}/cancel")
    progress = job["progress"]
    print(f"job {job['id']} {job['status']} at step {progress['step']} of {progress['steps']}")


def _follow(client, job):
    progress, job_id = Progress(), job["id"]
    _announce(progress, f"job {job_id}")
    _notice(job, progress)

    def show(j):
        progress.show(j["progress"]["step"], j["progress"]["steps"], f"job {job_id}", j["status"], j["status"])

    def fetch():
        return client.get(f"/api/v1/jobs/{job_id}")

    try:
        try:
            job = _streamed_job(client, job, show, fetch, progress.note)
        except streams.Unavailable as err:
            progress.note(f"fitq: no event stream ({err}); polling instead")
            job = _until(progress, fetch, lambda j: j["status"] in FINISHED, show)
    except KeyboardInterrupt:
        return _interrupted(progress, f"job {job_id}", f"fitq show {job_id}")
    finally:
        progress.close()
    print("\n".join(tables.result_lines(job)))
    return 0 if job["status"] == "succeeded" else EXIT_JOB


def _streamed_job(client, job, show, fetch, note):
    # Progress and status as the stream pushes them; the finished job is read once at the end.
    show(job)

    def on_event(name, data):
        if name == "progress":
            # A point's step is the index of the step it was taken at: step + 1 of them are done.
            job["progress"] = {"step": min(data["step"] + 1, data["steps"]), "steps": data["steps"]}
        elif name == "status":
            job.update(data)
        elif name == "end":
            show(done := fetch())
            return done
        show(job)
        return None

    return streams.follow(client, f"/api/v1/jobs/{job['id']}/events", on_event, PATIENCE_S, note)


def _streamed_sweep(client, sweep, show, fetch, note):
    # Counts as the stream pushes them; the finished sweep is read once at the end.
    show(sweep)

    def on_event(name, data):
        if name == "counts":
            sweep["counts"] = data
            show(sweep)
        elif name == "end":
            show(done := fetch())
            return done
        return None

    return streams.follow(client, f"/api/v1/sweeps/{sweep['id']}/events", on_event, PATIENCE_S, note)


def _until(progress, fetch, finished, report, longest_s=1.0):
    # Poll quickly at first (small jobs end within a second), then once a second; an API that stops
    # answering for a while (restarted, redeployed) is waited for, up to PATIENCE_S at a time.
    delay, current, lost_at = 0.05, fetch(), None
    while True:
        report(current)
        if finished(current):
            return current
        time.sleep(delay)
        delay = min(delay * 1.5, longest_s)
        try:
            current, lost_at = fetch(), None
        except ApiError as err:
            if not err.transient or (lost_at is not None and time.monotonic() - lost_at > PATIENCE_S):
                raise
            if lost_at is None:
                lost_at = time.monotonic()
                progress.note(f"fitq: {err}; trying again for up to {PATIENCE_S:g} s")


def _announce(progress, what):
    # On a terminal the bar may have no room for the id: say it once above.
    if progress.tty:
        progress.note(f"fitq: waiting for {what} (Ctrl-C stops only the waiting)")


def _notice(job, progress):
    # Why a job may wait forever (no live worker on its queue): said once, up front.
    if job.get("notice"):
        progress.note(f"fitq: {job['notice']}")


def _interrupted(progress, what, look):
    progress.close()
    print(f"fitq: stopped waiting; {what} goes on: `{look}` to look it up again", file=sys.stderr)
    return EXIT_INTERRUPTED


def _done(sweep):
    return sum(n for status, n in sweep["counts"].items() if status in FINISHED)


def _counts(sweep):
    return ", ".join(f"{n} {status}" for status, n in sweep["counts"].items() if n) or "no jobs"
