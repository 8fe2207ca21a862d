"""bench.service's sweep of each variant: its wall time against 1000 / the variant's batched rate,
and where the difference goes. The rate is measured in this process, in the same run, before the sweep
and again after it, on a batch of BATCH_SIZE default-size jobs with one torch thread, on the variant's
default device (a GPU where there is one): what each of the worker's passes runs."""
import re
import time
from contextlib import contextmanager

import requests

from bench.procfs import children, cpu_seconds
from bench.report import goal, heading
from bench.stack import say
from fitq_client import Client

# worker.tasks logs one such line a pass.
PASS = re.compile(r"pass of (\d+) (\w+) jobs: claim ([\d.]+) ms, fit ([\d.]+) s, outcomes ([\d.]+) ms, "
                  r"write ([\d.]+) ms")


def batched_rate(variant, size):
    """fits/s of fits.batched.run_batch over `size` default-size jobs, one torch thread, best of two:
    (in wall time, in this process's CPU time)."""
    from fits import batched
    with as_the_worker(variant, size) as (defaults, tuner):
        batched.run_batch(variant, [{**defaults, "seed": s, "steps": 10, "log_every": 10} for s in range(2)])
        best, best_cpu = 0.0, 0.0
        for _ in range(2):
            started, cpu = time.perf_counter(), time.process_time()
            batched.run_batch(variant, [{**defaults, "seed": s} for s in range(size)], chunking=tuner)
            best = max(best, size / (time.perf_counter() - started))
            best_cpu = max(best_cpu, size / (time.process_time() - cpu))
    return best, best_cpu


def bare_passes(variant, points, size):
    """(wall, CPU) seconds of the sweep's passes run here, with no service: `points` default-size jobs
    over seeds 0..points-1 in passes of `size`, one after another as the worker runs them. Their time
    over the estimate is the estimate's own margin (a best of two against passes in a row); the worker's
    loops over them, the service's effect on the loops."""
    from fits import batched
    with as_the_worker(variant, size) as (defaults, tuner):
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, points, size):
            batch = [{**defaults, "seed": s} for s in range(first, min(points, first + size))]
            batched.run_batch(variant, batch, chunking=tuner)
        return time.perf_counter() - started, time.process_time() - cpu


@contextmanager
def as_the_worker(variant, size):
    """(the variant's defaults, a chunk tuner) for passes of `size` jobs run here as a worker runs them:
    its malloc thresholds, one torch thread, the chunk size settled as the worker's is."""
    import torch

    from bench import floors
    from fits import catalog
    from fits.batched.chunking import Tuner
    from fits.batched.run import ITEM_BYTES
    from worker import allocator, threads
    allocator.tune()  # as the worker does, so that its passes and these run alike
    before = torch.get_num_threads()
    threads.limit(1)  # torch's and numpy's BLAS, as the worker runs
    try:
        # The variant's default device, as the sweep's jobs: `auto` is the GPU where there is one.
        defaults = dict(catalog.VARIANTS[variant].defaults)
        # A batch whose chunk sizes a worker compares runs at the size the variant settles on, as a worker
        # that has measured runs it; one no two sizes fill is one chunk whatever the size.
        row_bytes = defaults["samples"] * ITEM_BYTES[defaults["dtype"]]
        on_cpu = defaults.get("device", "auto") == "cpu" or not torch.cuda.is_available()
        compared = Tuner().plan(variant, size, row_bytes) != [(size, 0)]
        yield defaults, floors.settled(variant) if on_cpu and compared else None
    finally:
        threads.limit(before)


def api_cpu(stack):
    """CPU seconds so far of the API's gunicorn master and workers (which answer the polling)."""
    return sum(cpu_seconds(pid) for pid in [stack.api.pid, *children(stack.api.pid)])


def passes_logged(stack, offsets):
    """The worker's pass lines written since `offsets` (log lengths), as tuples of numbers."""
    found = []
    for worker, offset in zip(stack.workers, offsets):
        found += [(int(m[1]), m[2], float(m[3]) / 1e3, float(m[4]), float(m[5]) / 1e3, float(m[6]) / 1e3)
                  for m in PASS.finditer(worker.output()[offset:])]
    return found


def variant_sweep(stack, variant, points, settle, timeout, poll_s):
    """A `points`-point sweep of `variant` over seeds, POST to `finished` seen; where its time went
    (`bracketed` adds the estimate)."""
    offsets = [len(w.output()) for w in stack.workers]
    cpu = sum(cpu_seconds(w.pid) for w in stack.workers)
    api = api_cpu(stack)
    http = requests.Session()
    t0, t0_wall = time.perf_counter(), time.time()
    r = http.post(f"{stack.base}/api/v1/sweeps", json={"variant": variant, "grid": {"seed": list(range(points))}},
                  timeout=60)
    answered = time.perf_counter() - t0
    if r.status_code != 202:
        raise RuntimeError(f"POST /sweeps answered {r.status_code}: {r.text[:300]}")
    doc = r.json()
    sweep = f"{stack.base}/api/v1/sweeps/{doc['id']}"
    if poll_s:
        while not doc["finished"] and time.perf_counter() - t0 < timeout:
            time.sleep(poll_s)
            doc = http.get(sweep, timeout=10).json()
    elif not doc["finished"]:
        doc = waited(stack.base, doc["id"], t0 + timeout - time.perf_counter())
    seen = time.perf_counter() - t0
    cpu = sum(cpu_seconds(w.pid) for w in stack.workers) - cpu
    api = api_cpu(stack) - api
    statuses, _, passes = settle(stack, "sweep_id = %s", (doc["id"],), 0)
    time.sleep(0.2)  # the last pass's log line follows its write
    logged = passes_logged(stack, offsets)
    loops = sum(p[2] or 0 for p in passes)
    last_written = passes[-1][1].timestamp() - t0_wall + (logged[-1][5] if logged else 0) if passes else seen
    row = {"variant": variant, "wall": seen, "worker cpu": cpu, "api cpu": api, "post": answered,
           "passes": len(passes), "claim": sum(p[2] for p in logged), "fit": sum(p[3] for p in logged),
           "loops": loops, "outcomes": sum(p[4] for p in logged), "write": sum(p[5] for p in logged),
           "tail": seen - last_written, "ok": bool(doc["finished"]) and statuses.get("succeeded") == points}
    row["rest"] = seen - row["post"] - row["claim"] - row["fit"] - row["outcomes"] - row["write"] - row["tail"]
    return row


def waited(base, sweep_id, timeout):
    """The sweep's document once it has finished, waited for as fitq's client waits (its event stream to
    the end, then one GET), or as it is after `timeout` seconds."""
    sweep = Client(base).get_sweep(sweep_id)
    try:
        sweep.wait(timeout=max(0.0, timeout))
    except TimeoutError:
        sweep.refresh()  # unfinished: the row's `ok` says so
    return sweep.document


def bracketed(row, points, before, after):
    """`row` with its estimate taken from the rates measured before and after its sweep (each a (wall,
    CPU) pair): the mean of the two times they give, and how far the machine's speed moved between."""
    # One rate taken before a sweep is one moment of a machine whose speed moves by a fifth within
    # minutes (docs/benchmarks.md); the sweep runs between the two, so their mean is its fairer estimate.
    expected = (points / before[0] + points / after[0]) / 2
    cpu_expected = (points / before[1] + points / after[1]) / 2
    return {**row, "rate": points / expected, "cpu rate": points / cpu_expected, "expected": expected,
            "cpu expected": cpu_expected, "before": before[0], "after": after[0],
            "moved": after[0] / before[0] - 1}


def print_table(rows, points, batch_size, poll_s):
    """The sweeps' table and a verdict per variant against `within 1 s of points / rate`."""
    seen = f"polled every {poll_s * 1e3:.0f} ms" if poll_s else "its event stream's `end`, as fitq's client waits"
    heading(f"{points}-point sweeps over seeds, one per variant, POST -> `finished` seen ({seen}); rate: a batch "
            f"of {batch_size} in this process, one torch thread, before and after the sweep")
    say("before, after: the batched rate measured before the sweep and after it (best of two each); rate, "
        "expected: the mean of the times they give, the estimate the goal is held to; moved: after against "
        "before, how far the machine's speed moved over the sweep")
    say("s; worker columns summed over its passes (fit = the pass: its setup, training loops and result "
        "building; loops = training loops alone); rest = POST -> seen less every other column: messages, "
        "acks, logging, idle between passes")
    say("cpu rate, cpu expected: the same in CPU time; worker cpu: the worker's CPU seconds over the sweep "
        "(what its wall time would be with a core to itself); api cpu: the API processes' (the POST and the "
        "polling or the stream), taken from the same 2 cores")
    names = ["before", "after", "moved", "rate", "expected", "wall", "extra", "post", "claim", "fit", "loops",
             "outcomes", "write", "tail", "rest", "passes", "cpu rate", "cpu expected", "worker cpu", "api cpu"]
    bare = bool(rows) and all("bare" in row for row in rows)
    if bare:
        say("bare: the sweep's passes run in this process after it, one after another with no service (wall s)")
    say(f"{'variant':16} " + " ".join(f"{n:>{max(8, len(n))}}" for n in names) + (f" {'bare':>8}" if bare else ""))
    for row in rows:
        row["extra"] = row["wall"] - row["expected"]
        cells = [f"{row['before']:8.1f}", f"{row['after']:8.1f}", f"{row['moved']:+8.0%}", f"{row['rate']:8.1f}"] \
            + [f"{row[n]:8.2f}" for n in names[4:-5]] + [f"{row['passes']:8d}"] \
            + [f"{row['cpu rate']:8.1f}", f"{row['cpu expected']:12.2f}", f"{row['worker cpu']:10.2f}",
               f"{row['api cpu']:8.2f}"] + ([f"{row['bare']:8.2f}"] if bare else [])
        say(f"{row['variant']:16} " + " ".join(cells))
    for row in rows:
        goal(f"{row['variant']}: {points}-point sweep within 1 s of {points} / rate ({row['expected']:.2f} s)",
             row["ok"] and row["extra"] <= 1.0, f"{row['wall']:.2f} s, {split(row)}"
             + ("" if row["ok"] else "; NOT all succeeded"))


def split(row) -> str:
    """A sweep's extra: the service's own time (wall less the worker's loops) and the loops' drift."""
    # On a machine whose speed moves by a fifth between passes the drift alone can decide the verdict
    # (docs/benchmarks.md): the split says which part did.
    extra = row["wall"] - row["expected"]
    said = (f"{extra:+.2f} s: the service's own {row['wall'] - row['loops']:.2f} s, the worker's loops "
            f"{row['loops'] - row['expected']:+.2f} s against the estimate")
    if "bare" in row:
        said += (f" (the same passes in the bench process {row['bare'] - row['expected']:+.2f} s, the worker's "
                 f"{row['loops'] - row['bare']:+.2f} s over them)")
    return said
