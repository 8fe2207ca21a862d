"""Building a batched pass's per-job results: the per-job path of 2e3f35a against fits.batched's.

    .venv/bin/python -m bench.results                  # 10,000 jobs
    .venv/bin/python -m bench.results --jobs 1000 --pass-jobs 200

For `--jobs` synthetic jobs (four parameters, 20 history points, as a default-size job leaves), µs a
job in CPU time: `FitResult`s built one by one as each solo fit builds its own (`FitResult.power_series`, or
`FitResult.of` with legendre's formula), which is what run_batch did until issue 15, against
`fits.batched.run.results`; and `to_dict()` (what a worker writes) of those results, before issue 15
(a finiteness check per number) and now.
`--pass-jobs` also times one real tensor pass of that many default-size jobs, split into the pass
and its result building, to set the result cost against the pass's.
Imports only fits, torch and the standard library, so it runs on a bare GPU machine.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import time

import torch

from fits import batched, catalog, legendre
from fits.batched import run as batched_run
from fits.loop import Trace
from fits.result import FitResult


def synthetic(count: int) -> list[tuple[list[float], Trace]]:
    """`count` (parameters, trace) pairs shaped like a default-size job's."""
    draw = random.Random(0)
    steps = list(range(99, 2000, 100))
    return [([draw.gauss(0, 1) for _ in range(4)], Trace([(t, draw.random()) for t in steps], draw.random(), 1.0))
            for _ in range(count)]


def one_by_one(variant: str, runs, device: str) -> list[FitResult]:
    """The per-job path run_batch took before issue 15."""
    if variant == "custom_function":
        return [FitResult.of(values, legendre.power_basis(values), legendre.formula(values), trace, device)
                for values, trace in runs]
    return [FitResult.power_series(values, trace, device) for values, trace in runs]


def old_to_dict(result: FitResult) -> dict:
    """FitResult.to_dict before issue 15: a finiteness check per number."""
    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None
    return {"coefficients": {name: finite(v) for name, v in result.coefficients.items()},
            "polynomial": [finite(c) for c in result.polynomial], "formula": result.formula,
            "final_loss": finite(result.final_loss),
            "loss_history": [{"step": s, "loss": finite(v)} for s, v in result.loss_history],
            "duration_s": result.duration_s, "device": result.device}


def per_job(build, count: int) -> tuple[float, object]:
    """µs per job of build() in this process's CPU time (other processes on a shared machine move
    it less than wall time), the best of five."""
    best, out = float("inf"), None
    for _ in range(5):
        started = time.process_time()
        out = build()
        best = min(best, time.process_time() - started)
    return best / count * 1e6, out


def real_pass(count: int, device: str) -> None:
    """One default-size tensor pass of `count` jobs: its training and its result building, in s."""
    params = [{**catalog.VARIANTS["tensor"].defaults, "device": device, "seed": s} for s in range(count)]
    original, took = batched_run.results, {}

    def timed(*args):
        started = time.perf_counter()
        out = original(*args)
        took["results"] = time.perf_counter() - started
        return out
    batched_run.results = timed
    try:
        started = time.perf_counter()
        batched.run_batch("tensor", params)
        whole = time.perf_counter() - started
    finally:
        batched_run.results = original
    print(f"tensor pass of {count} jobs on {device}: {whole:.3f} s, of which result building "
          f"{took['results'] * 1e3:.1f} ms ({took['results'] / whole:.1%})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--pass-jobs", type=int, default=0, help="also time a real tensor pass of this many jobs")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    runs = synthetic(args.jobs)
    print(f"per-job result building, {args.jobs} jobs, µs a job (load {os.getloadavg()[0]:.1f})")
    print(f"{'variant':16} {'one by one':>11} {'results()':>10} {'to_dict before':>15} {'to_dict':>8}")
    for variant in ("tensor", "custom_function"):
        before, old = per_job(lambda v=variant: one_by_one(v, runs, args.device), args.jobs)
        after, new = per_job(lambda v=variant: batched_run.results(v, runs, args.device), args.jobs)
        assert repr(old) == repr(new), "results() differs from the per-job path"
        old_dicts, _ = per_job(lambda built=new: [old_to_dict(r) for r in built], args.jobs)
        dicts, _ = per_job(lambda built=new: [r.to_dict() for r in built], args.jobs)
        print(f"{variant:16} {before:11.2f} {after:10.2f} {old_dicts:15.2f} {dicts:8.2f}")
    if args.pass_jobs:
        real_pass(args.pass_jobs, args.device)


if __name__ == "__main__":
    main()
