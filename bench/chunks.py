"""A batched pass's rate against its CPU chunk size, each size fixed in turn (fits/batched/chunking.py
chooses among them in the worker, from the passes' own timings).

    .venv/bin/python -m bench.chunks --variant optim --kb 512,1024,2048,4096,1024,2048

One process, one torch thread and the worker's malloc thresholds (worker/allocator.py); for each
budget in turn (repeat one to see how much the order moves it), `--jobs` default-size jobs of
`--steps` steps, fits/s of 2,000-step jobs in CPU time.
"""
from __future__ import annotations

import argparse
import os
import time

from fits import batched, catalog
from fits.batched.chunking import Tuner
from worker import allocator, threads


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chunks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="optim", choices=sorted(batched.BUILDERS))
    parser.add_argument("--kb", type=lambda s: [int(v) for v in s.split(",")], default=[512, 1024, 2048, 4096])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args(argv)
    allocator.tune()
    threads.limit(1)  # torch's and numpy's BLAS, as the worker runs
    defaults = dict(catalog.VARIANTS[args.variant].defaults)
    batched.run_batch(args.variant, [{**defaults, "seed": s, "steps": 10, "log_every": 10} for s in range(2)])
    print(f"{args.variant}: {args.jobs} jobs of {args.steps} steps, fits/s of 2000-step jobs in CPU time")
    for kb in args.kb:
        started = time.process_time()
        batched.run_batch(args.variant, [{**defaults, "seed": s, "steps": args.steps, "log_every": 100}
                                         for s in range(args.jobs)], chunking=Tuner((kb << 10,)))
        rate = args.jobs * args.steps / 2000 / (time.process_time() - started)
        print(f"chunk {kb:5d} KB: {rate:7.1f}   load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
