"""`fitq submit|jobs|show|compare|sweep|cancel`: the API's client, over HTTP only (FITQ_URL, FITQ_TOKEN).
Their arguments are in service/cli/options.py."""
import functools
import itertools
import sys

from fitq_client import Job, Sweep
from fitq_client.polling import until
from service.cli import tables
from service.cli.client import ApiError, Client
from service.cli.options import value
from service.cli.progress import Progress

PAGE = 200  # the most jobs one GET /jobs answers
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


def _params(args):
    # What submit and sweep send as params: the --param values, as JSON where they parse.
    return {k: value(v) for k, v in args.param}


@command
def submit(client, args):
    """Submit a job; with --wait, follow it to the end and print its result."""
    job = client.submit(args.variant, _params(args), timeout_s=args.timeout)
    _warn(job)
    if not args.wait:
        print(job.id)
        print(f"fitq: job {job.id} {job.status}; `fitq show {job.id}` to look it up", file=sys.stderr)
        _notice(job, Progress())
        return 0
    return _follow(job)


@command
def jobs(client, args):
    """List jobs, filtered and sorted, as a table."""
    order = args.order or ("desc" if args.sort == "created_at" else "asc")
    listed = client.jobs(variant=args.variant, status=args.status, sweep=args.sweep,
                         created_after=args.created_after, created_before=args.created_before,
                         order_by=("-" if order == "desc" else "") + args.sort, params=dict(args.param),
                         page_size=min(PAGE, args.limit))
    # One more than --limit is read, to tell whether more match (the pages are read lazily).
    items = [job.document for job in itertools.islice(listed, args.limit + 1)]
    more = len(items) > args.limit
    items = items[:args.limit]
    if not items:
        print("fitq: no job matches", file=sys.stderr)
        return 0
    print("\n".join(tables.listing_lines(items)))
    if more:
        print(f"fitq: more jobs match than these {len(items)}; raise --limit to see them", file=sys.stderr)


@command
def show(client, args):
    """One job, readable."""
    print("\n".join(tables.job_lines(client.job(args.id).document)))


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


def _sweep_body(args):
    # POST /sweeps as given: a grid, or a search's fields; what is left out takes the API's default, and the
    # API checks them together (a 422 naming the field: `grid: is required`, `pruner.kind: ...`).
    body = {"variant": args.variant, "params": _params(args), "grid": dict(args.grid) or None,
            "strategy": args.strategy, "space": dict(args.space) or None, "trials": args.trials,
            "seed": args.search_seed, "parallelism": args.parallelism, "stop_at_excess": args.stop_at_excess,
            "timeout_s": args.timeout}
    pruner = {"kind": args.pruner, "rungs": args.rungs, "reduction_factor": args.reduction_factor,
              "startup_trials": args.startup_trials}
    if any(v is not None for v in pruner.values()):
        body["pruner"] = {k: v for k, v in pruner.items() if v is not None}
    return {k: v for k, v in body.items() if v is not None}


@command
def sweep(client, args):
    """Create a sweep (a grid, or a random or tpe search); with --wait, follow it and print its best job."""
    made = Sweep(client.transport, client.post("/api/v1/sweeps", _sweep_body(args)), client.jobs)
    _warn(made)
    search = made.document.get("search")
    if not args.wait:
        print(made.id)
        what = f"{made.size} jobs" if search is None else \
            f"a {made.document['strategy']} search of up to {search['trials']} trials, {search['parallelism']} a batch"
        print(f"fitq: sweep {made.id}: {what}; `fitq jobs --sweep {made.id}` lists them", file=sys.stderr)
        return 0
    progress = Progress()
    _announce(progress, f"sweep {made.id}")
    try:
        made.wait(lambda s: progress.show(s.done, s.size, f"sweep {s.id}", _counts(s.counts), s.finished),
                  notify=lambda line: progress.note(f"fitq: {line}"), changes_only=False)
    except KeyboardInterrupt:
        return _interrupted(progress, f"sweep {made.id}", f"fitq jobs --sweep {made.id}")
    finally:
        progress.close()
    print(f"sweep {made.id}: {_size(made.document)}, {_counts(made.counts)}")
    best = made.best()  # a search's is the trial of least relative excess loss, a grid's of least final loss
    if best is None:
        print(f"fitq: no job of sweep {made.id} succeeded; `fitq jobs --sweep {made.id}` lists them",
              file=sys.stderr)
        return EXIT_JOB
    print("best:")
    print("\n".join(tables.best_lines(best.document)))


@command
def cancel(client, args):
    """Cancel a queued or running job."""
    job = Job(client.transport, {"id": args.id}).cancel()
    print(f"job {job.id} {job.status} at step {job.progress.step} of {job.progress.steps}")


def _follow(job):
    # The job's event stream where the API has one, else polling (a line says so if a stream failed).
    progress = Progress()
    _announce(progress, f"job {job.id}")
    _notice(job, progress)
    try:
        job.wait(lambda p: progress.show(p.step, p.steps, f"job {job.id}", p.status, p.status),
                 notify=lambda line: progress.note(f"fitq: {line}"), changes_only=False)
    except KeyboardInterrupt:
        return _interrupted(progress, f"job {job.id}", f"fitq show {job.id}")
    finally:
        progress.close()
    print("\n".join(tables.result_lines(job.document)))
    return 0 if job.status == "succeeded" else EXIT_JOB


def _until(progress, fetch, finished, report, longest_s=1.0):
    # fitq_client's polling loop, telling each outage on the progress's stream.
    return until(fetch, finished, report, lambda line: progress.note(f"fitq: {line}"), longest_s)


def _announce(progress, what):
    # On a terminal the bar may have no room for the id: say it once above.
    if progress.tty:
        progress.note(f"fitq: waiting for {what} (Ctrl-C stops only the waiting)")


def _warn(accepted):
    # What the API expects of an accepted submission (an unstable learning rate): said before anything else.
    for warning in accepted.warnings:
        print(f"fitq: warning: {warning['detail']}", file=sys.stderr)


def _notice(job, progress):
    # Why a job may wait forever (no live worker on its queue): said once, up front.
    if job.notice:
        progress.note(f"fitq: {job.notice}")


def _interrupted(progress, what, look):
    progress.close()
    print(f"fitq: stopped waiting; {what} goes on: `{look}` to look it up again", file=sys.stderr)
    return EXIT_INTERRUPTED


def _size(sweep):
    search = sweep.get("search")
    if search is None:
        return f"{sweep['size']} jobs"
    ended = {"target": "stopped at its target", "trials": "all asked"}.get(search.get("ended"), "still asking")
    return f"{sweep['strategy']} search, {sweep['trials']['asked']} of {search['trials']} trials ({ended})"


def _counts(counts):
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no jobs"
