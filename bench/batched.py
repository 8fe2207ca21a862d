"""Batched fits per second, and how far each batched job lands from the same job run alone.

    .venv/bin/python -m bench.batched                  # CPU: B = 1, 10, 100, 1000
    .venv/bin/python -m bench.batched --device cuda    # GPU: B = 1, 10, 100, 1000, 10000, all but numpy
    .venv/bin/python -m bench.batched --sizes 1000 --rounds 5   # the goals held to the median of 5 rounds

Default-size jobs (2000 steps, 2000 samples, log every 100, the variant's default dtype and learning
rate), seeds 0..B-1. A cell is the best of up to three runs of fits.batched.run_batch (one if a run
takes over a second), in wall-clock fits/s; `cpu` is the widest batch's rate in this process's CPU
time, which other processes on a shared machine move less; `load` the 1-minute load average after
the row. A sample of jobs of the widest batch (first, middle, last) also runs alone through
fits.registry.run: `solo` is the best of those runs' fits/s, `max rel diff` the largest relative
difference of any of their logged losses from the batched ones; 0 is bit for bit.

On the CPU each variant first settles its chunk size as a worker does (`chunk`, fits/batched/
chunking.py; bench.floors.settled), and is timed at it. When B = 1000 is among the sizes, a second
table sets each variant's rate against its goal, its floor (bench.floors) at that chunk size, and its
ceiling: the most its mechanism allows at any chunk size, timed right after each of the variant's
B = 1000 passes (five rounds of it in all), so that rate and ceiling are read at the same speed of the
machine. With `--rounds N` the widest batch of every
variant runs N times, in rounds over the variants in turn, and the goals are held to each variant's
median: a shared machine's speed moves by a fifth between one 5-second pass and the next.
Imports only fits, bench, torch, numpy and the standard library, so it runs on a bare GPU machine.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

import torch

from bench import floors
from bench.goals import CPU_GOALS, verdict
from fits import batched, catalog, registry
from fits.batched.chunking import Tuner
from worker import allocator, threads


def jobs(variant: str, count: int, device: str) -> list[dict]:
    """`count` default-size jobs of `variant` with seeds 0..count-1."""
    defaults = dict(catalog.VARIANTS[variant].defaults)
    defaults["device"] = "cpu" if variant == "numpy" else device
    return [{**defaults, "seed": seed} for seed in range(count)]


def best_rate(variant: str, batch: list[dict], chunking: Tuner) -> tuple[float, float, list]:
    """Fits per second of run_batch over `batch`, the best of up to three runs, in wall-clock and in
    CPU time, and the last results."""
    best, best_cpu, results = 0.0, 0.0, []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        results = batched.run_batch(variant, batch, chunking=chunking)
        took = time.perf_counter() - started
        best, best_cpu = max(best, len(batch) / took), max(best_cpu, len(batch) / (time.process_time() - cpu))
        if took > 1.0:
            break
    return best, best_cpu, results


def solo_comparison(variant: str, batch: list[dict], results: list) -> tuple[float, float]:
    """Solo runs of the first, middle and last job: the best solo fits/s, and the largest
    |batched - solo| / |solo| over every logged loss they have."""
    fastest, worst = 0.0, 0.0
    for j in sorted({0, len(batch) // 2, len(batch) - 1}):
        started = time.perf_counter()
        solo = registry.run(variant, batch[j])
        fastest = max(fastest, 1 / (time.perf_counter() - started))
        for (_, alone), (_, together) in zip(solo.loss_history, results[j].loss_history):
            worst = max(worst, abs(together - alone) / abs(alone))
    return fastest, worst


def row(variant: str, sizes: list[int], device: str, chunking: Tuner) -> tuple[list[str], dict[int, float]]:
    """One table row: solo and batched fits/s per size, and the sampled max relative difference; and
    the rate per size."""
    batched.run_batch(variant, [{**job, "steps": 10, "log_every": 10} for job in jobs(variant, 2, device)],
                      chunking=chunking)
    cells, cpu, widest, rates = [], 0.0, None, {}
    for size in sizes:
        batch = jobs(variant, size, device)
        rate, cpu, results = best_rate(variant, batch, chunking)
        cells.append(f"{rate:8.1f}")
        widest, rates[size] = (batch, results), rate
    solo, difference = solo_comparison(variant, *widest)
    return ([f"{solo:8.1f}"] + cells + [f"{cpu:8.1f}"]
            + [f"{difference:13.1e}" if difference else f"{'0 (bit-exact)':>13}", f"{os.getloadavg()[0]:5.1f}"],
            rates)


def extra_rounds(rounds: int, within: float | None, pass_seconds: list[float]) -> int:
    """How many rounds after the first to run: all those asked, or as many as fit `within` seconds
    at the first round's pace (each variant's widest pass once)."""
    if within is None or not pass_seconds:
        return rounds - 1
    return max(0, min(rounds - 1, int(within // sum(pass_seconds))))


def median_rates(rounds: dict[str, list[float]]) -> dict[str, float]:
    """Each variant's median rate over its rounds (the mean of the middle two for an even count)."""
    return {variant: statistics.median(rates) for variant, rates in rounds.items()}


def print_rounds(rounds: dict[str, list[float]], size: int) -> None:
    """Every round's rate per variant, its median and how far the slowest round fell below the fastest."""
    count, middle = max(map(len, rounds.values())), median_rates(rounds)
    # Only B = 1000 has goals: a table of other sizes shows the spread alone.
    held = "; the goals below are held to the median" if size == 1000 else ""
    print(f"\nB = {size} in {count} rounds, the variants in turn each round (wall fits/s){held}")
    print(f"{'variant':16} " + " ".join(f"{'round ' + str(r + 1):>8}" for r in range(count))
          + f" {'median':>8} {'spread':>7}")
    for variant, rates in rounds.items():
        spread = f"{100 * (1 - min(rates) / max(rates)):6.0f}%"
        print(f"{variant:16} " + " ".join(f"{rate:8.1f}" for rate in rates)
              + f" {middle[variant]:8.1f} {spread}")


def own_kernels() -> str | None:
    """The kernels OpenBLAS picks for this CPU by itself, asked of a fresh interpreter without
    OPENBLAS_CORETYPE (nor OPENBLAS_L2_SIZE, which hosts set with it); None if it cannot tell."""
    env = {k: v for k, v in os.environ.items() if k not in (threads.CORETYPE, "OPENBLAS_L2_SIZE")}
    probe = "from worker.threads import openblas_kernels; print(openblas_kernels())"
    try:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def forced_kernels() -> tuple[str, str] | None:
    """(the kernels numpy's OpenBLAS runs, those it would pick itself) where OPENBLAS_CORETYPE makes them
    differ; None where it runs its own pick."""
    if not os.environ.get(threads.CORETYPE):
        return None
    running, own = threads.openblas_kernels(), own_kernels()
    return (running, own) if running and own and own != running else None


def goals(measured: dict[str, tuple[int, float]], ceilings: dict[str, floors.Ceiling], rounds: int = 1) -> None:
    """Each variant's B = 1000 rate (the median of `rounds`) against its goal, beside its floor at the
    chunk size it ran and its ceiling (bench.floors) over every chunk size, measured beside its passes."""
    of = f"; B=1000 the median of {rounds} rounds" if rounds > 1 else ""
    print(f"\nCPU goals at B = 1000 (issue 15{of}), CPU time (bench.floors, measured beside each B=1000 pass): "
          "floor, its arithmetic alone on the chunk it ran; best floor, the same at the chunk size where it is "
          "fastest; ceiling, the most its mechanism allows: the arithmetic plus the step's fixed cost (measured "
          "at one job), at the best chunk size")
    print(f"{'variant':16} {'goal':>6} {'B=1000':>8} {'floor':>8} {'best floor':>16} {'ceiling':>16}  verdict")
    forced = forced_kernels() if "numpy" in measured else None
    for variant, (budget, fits_s) in measured.items():
        top = ceilings[variant]
        # Its chunk is one of the ceiling's sizes, timed in turn with the others: so the floor is never
        # read above the best floor, and the kernels are not timed twice.
        floor = top.floors[budget]
        where, most = top.best()
        goal = CPU_GOALS[variant]
        at = f"{where >> 10} KB chunks" + (f", {forced[0]} kernels" if forced and variant == "numpy" else "")
        print(f"{variant:16} {goal:6d} {fits_s:8.1f} {floor:8.1f} {floors.at(*top.best_floor()):>16} "
              f"{floors.at(where, most):>16}  {verdict(fits_s, goal, most, at)}", flush=True)
    if forced:
        print(f"numpy: its OpenBLAS ran {forced[0]} kernels, as {threads.CORETYPE}={os.environ[threads.CORETYPE]} "
              f"in this environment says, not the {forced[1]} kernels it picks for this CPU by itself (hosts set the "
              f"variable where older OpenBLAS builds fail on their CPU); to time those: "
              f"env -u {threads.CORETYPE} -u OPENBLAS_L2_SIZE make bench")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.batched", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=None,
                        help="batch sizes, comma-separated (default 1,10,100,1000; cuda adds 10000)")
    parser.add_argument("--variants", type=lambda s: s.split(","), default=None,
                        help="comma-separated (default: every batchable one; on cuda all but numpy)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and numpy BLAS threads (default 1, as a worker runs: TORCH_THREADS=1; a 2-core "
                             "machine runs two workers)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the widest batch of every variant this many times, the variants in turn each "
                             "round, and hold the goals to each one's median (default 1)")
    parser.add_argument("--rounds-within", type=float, default=None, metavar="SECONDS",
                        help="run only the rounds after the first that fit this many seconds at the first one's "
                             "pace (make bench: 120, so that it stays under 5 minutes on a slow machine)")
    parser.add_argument("--glibc-malloc", action="store_true",
                        help="keep glibc's own malloc thresholds, not the worker's (worker/allocator.py)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    tuned = not args.glibc_malloc and allocator.tune()
    sizes = args.sizes or [1, 10, 100, 1000] + ([10000] if args.device == "cuda" else [])
    variants = args.variants or [v for v in sorted(batched.BUILDERS)
                                 if not (args.device == "cuda" and v == "numpy")]
    blas = threads.limit(args.threads)  # torch's and numpy's BLAS, as a worker's TORCH_THREADS sets both
    count = torch.get_num_threads()
    where = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"{count} CPU thread{'s' * (count != 1)} (a worker's TORCH_THREADS)"
    print(f"batched fits/s, default-size jobs, torch {torch.__version__} on {where}; malloc "
          + ("as the worker sets it" if tuned else "glibc's own thresholds")
          + ("" if blas else "; numpy's BLAS threads not limited (threadpoolctl is not installed)"))
    if args.device == "cpu":
        print(f"numpy's BLAS: {threads.blas()}")
    if args.device == "cuda":
        print("numpy is CPU-only: it is in the CPU table, not this one")
    header = f"{'variant':16} {'chunk':>7} {'solo':>8} " + " ".join(f"{'B=' + str(s):>8}" for s in sizes)
    print(header + f" {'cpu':>8} {'max rel diff':>13} {'load':>5}")
    measured, tuners, first, ceilings, sampling = {}, {}, {}, {}, {}
    widest = max(sizes)
    # Each B=1000 pass is followed by rounds of its variant's ceiling, five in all however many rounds
    # run: the machine's speed moves by a fifth within a minute, and a ceiling measured after every
    # rate, as before, was read at another speed (a tensor rate of 454 above its ceiling of 407).
    beside = math.ceil(5 / args.rounds)
    for variant in variants:
        if args.device == "cpu":
            chunking = floors.settled(variant)
            budget = floors.chosen(chunking, variant)
            chunk = f"{budget >> 10:4d} KB"
        else:
            chunking, budget, chunk = Tuner((1 << 20,)), 0, f"{'-':>7}"  # a GPU chunk only bounds memory
        cells, rates = row(variant, sizes, args.device, chunking)
        tuners[variant], first[variant] = chunking, rates[widest]
        print(f"{variant:16} {chunk} " + " ".join(cells), flush=True)
        if args.device == "cpu" and 1000 in rates and variant in CPU_GOALS:
            measured[variant] = (budget, rates[1000])
            started = time.perf_counter()
            ceilings[variant] = floors.Samples(variant).sample(beside)
            sampling[variant] = time.perf_counter() - started
    ran = 1
    if args.rounds > 1:
        rounds = {variant: [rate] for variant, rate in first.items()}  # the table's run is round 1
        # A round is each variant's widest pass and, beside it, its ceiling's rounds.
        pass_seconds = [widest / rate + sampling.get(variant, 0.0) for variant, rate in first.items()]
        extra = extra_rounds(args.rounds, args.rounds_within, pass_seconds)
        for _ in range(extra):
            for variant in variants:
                rounds[variant].append(best_rate(variant, jobs(variant, widest, args.device), tuners[variant])[0])
                if variant in ceilings:
                    ceilings[variant].sample(beside)
        print_rounds(rounds, widest)
        ran = 1 + extra
        if extra < args.rounds - 1:
            print(f"({1 + extra} round{'s' * bool(extra)} of the {args.rounds} asked: a round takes about "
                  f"{sum(pass_seconds):.0f} s here, and the rounds after the first "
                  f"are held to {args.rounds_within:.0f} s)")
        if widest == 1000:
            middle = median_rates(rounds)
            measured = {variant: (budget, middle[variant]) for variant, (budget, _) in measured.items()}
    if measured:
        goals(measured, {variant: samples.ceiling() for variant, samples in ceilings.items()},
              ran if widest == 1000 else 1)


if __name__ == "__main__":
    main()
