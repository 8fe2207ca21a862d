"""The service side of the benchmark: what the API, the queue and the database add to a fit, how fast
jobs and sweeps go through, and how much memory the processes hold. Each run gets a stack of its own
(bench/stack.py). It prints tables and whether each goal is met; it asserts nothing.

    .venv/bin/python -m bench.service
    .venv/bin/python -m bench.service --latency-jobs 50 --jobs 200 --sweep-points 200   # quicker
    .venv/bin/python -m bench.service --sweeps-only --variants tensor,numpy,autograd    # sweeps' table
    .venv/bin/python -m bench.service --sweeps-only --bare --variants tensor,numpy      # and their passes here
"""
import argparse
import collections
import importlib
import re
import secrets
import time

import psycopg
import redis
import requests

from bench import sweeps
from bench.clients import Clients, Submission
from bench.procfs import children, has_torch, rss
from bench.report import goal, heading, machine, ms, pct, percentiles, stamp
from bench.stack import PG_ADMIN, Stop, fresh_stack, say, stop_on_signals
from bench.waiter import TERMINAL, Waiter
from service.settings import KNOWN_QUEUES, Settings

# Faster than the defaults and nothing a client could trip over: no rate limit, no tokens, few logs
# (the workers still log at info: the stack reads "ready." from their logs).
ENV = {"RATE_LIMIT_PER_MINUTE": 0, "AUTH": "off", "LOG_LEVEL": "warning"}
LATENCY_BODIES = ({"variant": "lstsq", "params": {"samples": 2000}}, {"variant": "tensor"})
# Two small jobs that build a torch.optim optimizer: a lazy import would show as a slower first one.
FIRST_JOB = {"variant": "module", "params": {"steps": 20, "samples": 100}}
WARM_UP = 10
SKIPPED = re.compile(r"INFO worker\.tasks job [0-9a-f]{32} .*duplicate delivery skipped$", re.M)
MB = 1024 * 1024


def arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="solo workers (default 1)")
    parser.add_argument("--latency-jobs", type=int, default=200,
                        help="single jobs, one at a time, alternately lstsq and tensor (default 200)")
    parser.add_argument("--client-jobs", type=int, default=50,
                        help="more of them, polled over HTTP for the client's view (default 50)")
    parser.add_argument("--poll-ms", type=float, default=2.0, help="how often a waiting client polls (default 2)")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs from concurrent clients (default 1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--variants", default="tensor",
                        help="comma-separated variants of those jobs, taken in turn, and of the sweeps, one "
                             "each (default tensor: the issue's 250 fits/s pace; e.g. "
                             "tensor,autograd,nn,module,custom_function,numpy,optim)")
    parser.add_argument("--sweep-points", type=int, default=1000,
                        help="points of the sweep of each batchable variant of --variants (default 1000)")
    parser.add_argument("--sweep-poll-ms", type=float, default=0.0,
                        help="how often the sweeps' client polls GET /sweeps/<id>; 0 (the default): it follows "
                             "the sweep's event stream to its end instead, as fitq's client waits")
    parser.add_argument("--bare", action="store_true",
                        help="after each variant's sweep, run its passes in the bench process too, with no "
                             "service: how far passes in a row run over the estimate, and the worker over them")
    parser.add_argument("--sweeps-only", action="store_true",
                        help="run only the sweeps and their table (no latency, throughput, memory or "
                             "unbatched runs)")
    parser.add_argument("--unbatched-jobs", type=int, default=48,
                        help="jobs of the BATCH_SIZE=1 run, and of every run while fits/batched/run.py is "
                             "not usable (default 48: unbatched, 1000 would take minutes)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds each run may take (default 180)")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help=f"PostgreSQL admin URL (default {PG_ADMIN})")
    return parser.parse_args(argv)


def batching_available():
    """Whether fits/batched/run.py is there with what the worker calls; (bool, why not)."""
    try:
        batched = importlib.import_module("fits.batched")
    except Exception as err:  # missing, or half written
        return False, f"{type(err).__name__}: {err}"
    missing = [name for name in ("batch_key", "run_batch") if not hasattr(batched, name)]
    return not missing, f"fits.batched has no {', '.join(missing)}" if missing else ""


# ---------------------------------------------------------------------------------------------------
# Single jobs


def overhead(job):
    """(created -> finished minus the fit's own duration, created -> started, started -> finished minus duration)."""
    created, started, finished = (stamp(job[k]) for k in ("created_at", "started_at", "finished_at"))
    duration = job["result"]["duration_s"]
    return finished - created - duration, started - created, finished - started - duration


def latency(stack, args):
    """The worker's first two jobs; then single jobs, each submitted once the one before is done."""
    torch_at_start = has_torch(stack.workers[0].pid)
    with Waiter(stack, args.timeout, args.poll_ms / 1000) as waiter:
        first = [waiter.run(FIRST_JOB, quiet=False) for _ in range(2)]
        for i in range(WARM_UP):
            waiter.run(LATENCY_BODIES[i % 2], quiet=True)
        quiet = [waiter.run(LATENCY_BODIES[i % 2], quiet=True) for i in range(args.latency_jobs)]
        loud = [waiter.run(LATENCY_BODIES[i % 2], quiet=False) for i in range(args.client_jobs)]
    return (torch_at_start, first), quiet, loud


def print_latency(args, batch_size, quiet, loud):
    heading(f"latency overhead: single jobs ({', '.join(b['variant'] for b in LATENCY_BODIES)} in turn), each "
            f"submitted when the one before has finished (BATCH_SIZE={batch_size}, {args.workers} worker, "
            f"after {WARM_UP} warm-up jobs)")
    costs = [overhead(job) for job, _, _ in quiet]
    rows = [(f"{len(quiet)} jobs, the client polls the job's row every {args.poll_ms:g} ms (idle API):", []),
             ("  server overhead: finished_at - created_at - duration_s", [c[0] for c in costs])]
    for variant in sorted({job["variant"] for job, _, _ in quiet}):
        rows.append((f"    {variant} only",
                     [c[0] for (job, _, _), c in zip(quiet, costs) if job["variant"] == variant]))
    rows += [("    created_at -> started_at (API commit and send, Redis, claim)", [c[1] for c in costs]),
             ("    started_at -> finished_at - duration_s (worker)", [c[2] for c in costs]),
             ("  client: POST /jobs answered (202)", [answered for _, answered, _ in quiet]),
             (f"{len(loud)} more, the client polls GET /jobs/<id> every {args.poll_ms:g} ms:", []),
             ("  client: submit -> observed succeeded", [seen for _, _, seen in loud]),
             ("  client: submit -> observed succeeded - duration_s",
              [seen - job["result"]["duration_s"] for job, _, seen in loud]),
             ("  server overhead meanwhile (the polling takes CPU)", [overhead(job)[0] for job, _, _ in loud])]
    percentiles(rows)
    server = [c[0] for c in costs]
    goal("server overhead p50 <= 15 ms", pct(server, 50) <= 0.015, ms(pct(server, 50)).strip())
    goal("server overhead p95 <= 40 ms", pct(server, 95) <= 0.040, ms(pct(server, 95)).strip())


# ---------------------------------------------------------------------------------------------------
# Many jobs


def skipped(stack):
    """Deliveries the workers skipped so far: messages of jobs that an earlier batch already ran."""
    return sum(len(SKIPPED.findall(w.output())) for w in stack.workers)


def settle(stack, where, args, timeout):
    """Wait until every job matching `where` is terminal (or `timeout`); (statuses, errors, passes:
    (first claim, finished_at, duration_s, jobs) per pass, since a pass writes its outcomes at once)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(stack.database.libpq_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(f"SELECT status, count(*), min(error::text) FROM jobs WHERE {where} "
                                "GROUP BY status", args).fetchall()
            if {r[0] for r in rows} <= set(TERMINAL) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        passes = conn.execute(f"SELECT min(started_at), finished_at, max(duration_s), count(*) FROM jobs "
                              f"WHERE {where} AND finished_at IS NOT NULL GROUP BY finished_at "
                              "ORDER BY finished_at", args).fetchall()
    errors = [r[2] for r in rows if r[2] not in (None, "null")]
    return {r[0]: r[1] for r in rows}, errors, passes


def drain(stack, timeout):
    """Wait until the workers have taken and acked every message, the skipped ones too; seconds waited."""
    queues, t0 = redis.Redis(port=stack.redis_port), time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not any(queues.llen(q) for q in KNOWN_QUEUES) and not queues.hlen("unacked"):
            break
        time.sleep(0.02)
    return time.monotonic() - t0


def print_passes(statuses, errors, passes, skips, drained, t0_wall):
    """Statuses, and where the worker's time went; returns first submission -> last finished_at."""
    say(f"statuses: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}")
    for error in errors[:3]:
        say(f"an error: {error[:300]}")
    if not passes:
        return float("nan")
    fit = sum(p[2] or 0 for p in passes)
    inside = sum((p[1] - p[0]).total_seconds() - (p[2] or 0) for p in passes)
    span = (passes[-1][1] - passes[0][0]).total_seconds()
    jobs = sum(p[3] for p in passes)
    say(f"worker: {len(passes)} passes, {jobs / len(passes):.1f} jobs each; from the first claim to the last "
        f"outcome {span:.2f} s: fitting {fit:.2f} s, in passes outside the fit {inside:.2f} s, between "
        f"passes {span - fit - inside:.2f} s; the queue was empty {drained:.2f} s after the last outcome "
        f"({skips} deliveries of jobs a batch had already run were skipped)")
    return passes[-1][1].timestamp() - t0_wall


def throughput(stack, n, args, batch_size, note=""):
    """n default-size jobs of --variants from concurrent clients; a table. (all succeeded, s)"""
    run, skips = secrets.token_hex(4), skipped(stack)
    variants = args.variants.split(",")
    subs = [Submission(f"bench-{run}-{i}", {"variant": variants[i % len(variants)]}) for i in range(n)]
    t0, t0_wall = time.monotonic(), time.time()
    pool = Clients(stack.base, subs, args.clients, t0 + args.timeout)
    pool.start()
    for thread in pool.threads:
        thread.join()
    submitted = pool.finished_at - t0
    statuses, errors, passes = settle(stack, "idempotency_key LIKE %s", (f"bench-{run}-%",), args.timeout)
    drained = drain(stack, args.timeout)
    heading(f"{n} default-size jobs submitted one by one over HTTP by {args.clients} clients "
            f"(BATCH_SIZE={batch_size}, {len(stack.workers)} worker){note}")
    mix = collections.Counter(s.body["variant"] for s in subs)
    say("mix: " + ", ".join(f"{v} {mix[v]}" for v in variants) + " (default params, seeds chosen by the API)")
    refused = collections.Counter(s.outcome for s in subs if s.outcome != "accepted")
    say(f"submissions: {pool.accepted} accepted in {submitted:.2f} s: {pool.accepted / submitted:.0f} /s"
        + (f"; not accepted: {dict(refused)}" if refused else "")
        + (f"; retries: {dict(pool.reasons)}" if pool.reasons else ""))
    wall = print_passes(statuses, errors, passes, skipped(stack) - skips, drained, t0_wall)
    done = statuses.get("succeeded", 0)
    say(f"{'all' if done == n else 'NOT all'} succeeded: first POST -> last finished_at {wall:.2f} s; "
        f"{done / wall:.1f} fits/s")
    return done == n, wall


def sweep(stack, points, args, batch_size, note=""):
    """A `points`-point tensor sweep over seeds, POST to `finished`; a table."""
    http, skips = requests.Session(), skipped(stack)
    body = {"variant": "tensor", "grid": {"seed": list(range(points))}}
    t0, t0_wall = time.perf_counter(), time.time()
    r = http.post(f"{stack.base}/api/v1/sweeps", json=body, timeout=60)
    answered = time.perf_counter() - t0
    if r.status_code != 202:
        raise RuntimeError(f"POST /sweeps answered {r.status_code}: {r.text[:300]}")
    doc = r.json()
    while not doc["finished"] and time.perf_counter() - t0 < args.timeout:
        time.sleep(0.02)
        doc = http.get(f"{stack.base}/api/v1/sweeps/{doc['id']}", timeout=10).json()
    seen = time.perf_counter() - t0
    statuses, errors, passes = settle(stack, "sweep_id = %s", (doc["id"],), 0)
    drained = drain(stack, args.timeout)
    heading(f"a {points}-point sweep: tensor at default params, grid seed 0..{points - 1} "
            f"(BATCH_SIZE={batch_size}, {len(stack.workers)} worker){note}")
    say(f"POST /sweeps answered in {answered:.2f} s; `finished` {doc['finished']} seen after {seen:.2f} s "
        f"(polled every 20 ms)")
    wall = print_passes(statuses, errors, passes, skipped(stack) - skips, drained, t0_wall)
    say(f"first POST -> last finished_at {wall:.2f} s")
    ok = doc["finished"] and statuses.get("succeeded") == points
    goal(f"{points}-point sweep all succeeded in <= 6 s", ok and seen <= 6, f"{seen:.2f} s")


def variant_sweeps(stack, args, batch_size):
    """A sweep of each batchable variant of --variants, and the table of where their time went."""
    from fits.batched import BUILDERS
    variants = [v for v in args.variants.split(",") if v in BUILDERS]
    skipped_variants = sorted(set(args.variants.split(",")) - set(variants))
    if skipped_variants:
        say(f"no sweep for {', '.join(skipped_variants)}: not batchable")
    rows = []
    for variant in variants:
        before = sweeps.batched_rate(variant, batch_size)
        say(f"{variant}: batched rate {before[0]:.1f} fits/s ({before[1]:.1f} in CPU time; B={batch_size}); "
            f"sweeping {args.sweep_points} points")
        row = sweeps.variant_sweep(stack, variant, args.sweep_points, settle, args.timeout,
                                   args.sweep_poll_ms / 1000)
        drain(stack, args.timeout)
        after = sweeps.batched_rate(variant, batch_size)  # with the worker idle again
        say(f"{variant}: batched rate after the sweep {after[0]:.1f} fits/s ({after[1]:.1f} in CPU time)")
        if args.bare:
            row["bare"] = sweeps.bare_passes(variant, args.sweep_points, batch_size)[0]
            say(f"{variant}: the sweep's passes in this process {row['bare']:.2f} s")
        rows.append(sweeps.bracketed(row, args.sweep_points, before, after))
    sweeps.print_table(rows, args.sweep_points, batch_size, args.sweep_poll_ms / 1000)


# ---------------------------------------------------------------------------------------------------
# Processes


def print_memory(stack, start):
    heading("memory (VmRSS after the runs) and start-up")
    api = [("API: gunicorn master", stack.api.pid)]
    api += [(f"API: gunicorn worker {i + 1}", pid) for i, pid in enumerate(children(stack.api.pid))]
    workers = [(f"{w.name} (solo: it runs the jobs)", w.pid) for w in stack.workers]
    width = max(len(name) for name, _ in api + workers)
    say(f"{'process':<{width}}  {'pid':>7}  {'VmRSS':>9}  torch mapped")
    for name, pid in api + workers:
        say(f"{name:<{width}}  {pid:>7}  {rss(pid) / MB:6.0f} MB  {'yes' if has_torch(pid) else 'no'}")
    torch_at_start, first = start
    say(f"worker0 start-up: process start -> \"ready.\" in its log {stack.workers[0].ready_after:.2f} s; "
        f"torch mapped when ready, before any job: {'yes' if torch_at_start else 'no'}")
    say(f"the first two jobs ({FIRST_JOB['variant']}: torch.optim.SGD, {FIRST_JOB['params']['steps']} steps); "
        "each API process answers its first request cold, and these are the first two requests:")
    for label, (job, answered, seen) in zip(("first ", "second"), first):
        total, _, worker = overhead(job)
        say(f"  {label}: POST answered {answered * 1000:.0f} ms; "
            f"duration_s {job['result']['duration_s'] * 1000:.0f} ms, "
            f"started_at -> finished_at - duration_s {worker * 1000:.0f} ms, server overhead {total * 1000:.0f} ms, "
            f"submit -> observed {seen * 1000:.0f} ms")
    api_max = max(rss(pid) for _, pid in api)
    worker_max = max(rss(pid) for _, pid in workers)
    goal("every API process < 150 MB RSS and without torch",
         api_max < 150 * MB and not any(has_torch(pid) for _, pid in api), f"largest {api_max / MB:.0f} MB")
    goal("a worker < 700 MB RSS", worker_max < 700 * MB, f"largest {worker_max / MB:.0f} MB")
    # What the worker does around the fit: an import on the first job would show there.
    extra = overhead(first[0][0])[2] - overhead(first[1][0])[2]
    goal("torch and torch.optim imported at worker start, not by the first job", torch_at_start and extra < 0.3,
         f"the first job spent {extra * 1000:+.0f} ms more than the second outside its fit")


# ---------------------------------------------------------------------------------------------------


def main(argv=None):
    args = arguments(argv)
    stop_on_signals()
    batching, why = batching_available()
    size = Settings.from_env().batch_size if batching else 1
    small = args.unbatched_jobs
    say(f"bench.service: {machine()}")
    note = ""
    if not batching:
        note = f" -- fits/batched/run.py not usable yet, so BATCH_SIZE=1 and {small} jobs"
        say(f"bench.service: batched execution is not usable yet ({why}): every stack runs BATCH_SIZE=1, "
            f"and the {args.jobs}-job run and the {args.sweep_points}-point sweep shrink to {small} jobs")
    try:
        with fresh_stack("bench", args.workers, {**ENV, "BATCH_SIZE": size},
                         pg_admin=args.pg_admin) as stack:
            if not args.sweeps_only:
                start, quiet, loud = latency(stack, args)
                print_latency(args, size, quiet, loud)
                jobs = args.jobs if batching else small
                ok, wall = throughput(stack, jobs, args, size, note)
                goal(f"{jobs} jobs all succeeded within 15 s", ok and wall <= 15, f"{wall:.2f} s")
            if batching:
                variant_sweeps(stack, args, size)
            else:
                sweep(stack, small, args, size, note)
            if not args.sweeps_only:
                print_memory(stack, start)
        if batching and not args.sweeps_only:
            with fresh_stack("bench", args.workers, {**ENV, "BATCH_SIZE": 1},
                             pg_admin=args.pg_admin) as stack:
                # Its first optimizer costs the worker seconds of torch._dynamo imports (see the memory
                # table): one job first, so that this run measures batching alone.
                with Waiter(stack, args.timeout, 0.05) as waiter:
                    waiter.run(FIRST_JOB, quiet=True)
                throughput(stack, small, args, 1, f" -- {small} jobs, not {args.jobs}: unbatched, "
                           f"{args.jobs} would take minutes; after one {FIRST_JOB['variant']} job to warm the worker")
    except (KeyboardInterrupt, Stop) as err:
        say(f"bench.service: interrupted ({err or type(err).__name__}); everything it started was stopped")
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
