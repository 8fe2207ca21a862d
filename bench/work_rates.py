"""Sample-steps a second of a batched pass, per variant and dtype, at the default shape and at large
ones: the slowest is what fits.batch_key.SLOWEST_RATE, the rate a pass is sized by, rests on.

    .venv/bin/python -m bench.work_rates

One process, one torch thread and the worker's malloc thresholds (worker/allocator.py), CPU time; at
2,000 samples a pass of 64 jobs of 2,000 steps, past that 4 jobs of 100 steps (the most work a job may
ask is 1e8 sample-steps).
"""
from __future__ import annotations

import argparse
import time

from fits import batch_key, batched, catalog
from worker import allocator, threads

SHAPES = ((2000, 64, 2000), (200_000, 4, 100), (1_000_000, 4, 100))  # (samples, jobs, steps)


def rate(variant: str, dtype: str, samples: int, jobs: int, steps: int) -> float:
    """Sample-steps a CPU second of one pass of `jobs` jobs of this shape."""
    shape = {**catalog.VARIANTS[variant].defaults, "device": "cpu", "dtype": dtype, "samples": samples,
             "steps": steps, "log_every": min(100, steps)}
    started = time.process_time()
    batched.run_batch(variant, [{**shape, "seed": s} for s in range(jobs)])
    return jobs * steps * samples / (time.process_time() - started)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.work_rates", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=lambda s: s.split(","), default=sorted(batched.BUILDERS))
    args = parser.parse_args(argv)
    allocator.tune()
    threads.limit(1)  # torch's and numpy's BLAS, as the worker runs
    print("sample-steps per CPU second of a batched pass, one thread")
    print(f"{'variant':16} {'dtype':8}" + "".join(f"{samples:>14,}" for samples, _, _ in SHAPES))
    slowest = None
    for variant in args.variants:
        for dtype in ("float64",) if variant == "numpy" else ("float32", "float64"):
            rates = [rate(variant, dtype, *shape) for shape in SHAPES]
            slowest = min(rates + ([slowest] if slowest else []))
            print(f"{variant:16} {dtype:8}" + "".join(f"{r:14.2e}" for r in rates), flush=True)
    print(f"slowest {slowest:.2e}; fits.batch_key.SLOWEST_RATE['cpu'] = {batch_key.SLOWEST_RATE['cpu']:.1e}")


if __name__ == "__main__":
    main()
