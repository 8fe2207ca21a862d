"""Grid, TPE and TPE with ASHA through a running fitq stack (API, sweeper, one solo worker, PostgreSQL,
Redis): the wall time from POST /sweeps until a trial within the target relative excess has finished.

    .venv/bin/python -m bench.search_stack                     # tensor, 600 steps, seeds 0,1,2
    .venv/bin/python -m bench.search_stack --sweep-interval 5  # the default SWEEP_INTERVAL_S

The grid is bench/search.py's first --most points (8 log-spaced learning rates x seeds, seed-major), run
as one grid sweep; the searches ask --parallelism trials at a time, at most --most, and stop at the target
(stop_at_excess). A row: median seconds to the target (or to the sweep's end where none reached it),
trials asked, pruned, over the search seeds.
"""
from __future__ import annotations

import argparse
import statistics
import time

import requests

from bench.stack import fresh_stack, say

LR = {"low": 1e-7, "high": 3e-6, "log": True}


def run(base, body, target, timeout):
    """(seconds to a trial within target or to the end, reached, asked, pruned) of one sweep."""
    start = time.monotonic()
    r = requests.post(f"{base}/api/v1/sweeps", json=body, timeout=30)
    r.raise_for_status()
    sweep_id = r.json()["id"]
    while time.monotonic() - start < timeout:
        hit = requests.get(f"{base}/api/v1/jobs", params={"sweep": sweep_id, "status": "succeeded",
                                                          "max_relative_excess_loss": target, "limit": 1},
                           timeout=30).json()["items"]
        sweep = requests.get(f"{base}/api/v1/sweeps/{sweep_id}", timeout=30).json()
        if hit or sweep["finished"]:
            took = time.monotonic() - start
            for job in requests.get(f"{base}/api/v1/jobs", params={"sweep": sweep_id, "status": "queued",
                                                                   "limit": 200}, timeout=30).json()["items"]:
                requests.post(f"{base}/api/v1/jobs/{job['id']}/cancel", timeout=30)
            return took, bool(hit), sweep["trials"]["asked"], sweep["trials"]["pruned"]
        time.sleep(0.1)
    raise TimeoutError(f"sweep {sweep_id} ran past {timeout}s")


def main() -> None:
    """Print one row per strategy."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--target", type=float, default=0.01)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--most", type=int, default=400)
    parser.add_argument("--search-seeds", default="0,1,2")
    parser.add_argument("--sweep-interval", type=float, default=0.5)
    parser.add_argument("--rungs", default="100,300")
    args = parser.parse_args()
    ratio = (3e-6 / 1e-7) ** (1 / 7)
    lrs = [1e-7 * ratio ** i for i in range(8)]
    seeds = list(range(args.most // 8))
    params = {"steps": args.steps, "log_every": 100}
    search = {"variant": "tensor", "params": params, "trials": args.most, "parallelism": args.parallelism,
              "stop_at_excess": args.target, "space": {"learning_rate": LR, "seed": {"low": 0, "high": 999}}}
    asha = {"kind": "asha", "rungs": [int(r) for r in args.rungs.split(",")]}
    env = {"SWEEP_INTERVAL_S": args.sweep_interval, "BATCH_SIZE": args.parallelism}
    with fresh_stack("search", workers=1, env=env) as stack:
        say(f"tensor, {args.steps} steps x 2000 samples, target {args.target:g}, parallelism {args.parallelism}, "
            f"at most {args.most} trials, SWEEP_INTERVAL_S {args.sweep_interval:g}, ASHA rungs {asha['rungs']}")
        say(f"{'search':<10}{'wall s':>9}{'trials':>8}{'pruned':>8}{'reached':>9}   per seed (s)")
        kinds = [("grid", lambda s: {"variant": "tensor", "params": params,
                                     "grid": {"seed": seeds, "learning_rate": lrs}}),
                 ("tpe", lambda s: {**search, "strategy": "tpe", "seed": s}),
                 ("tpe+asha", lambda s: {**search, "strategy": "tpe", "seed": s, "pruner": asha})]
        for name, body in kinds:
            rows = [run(stack.base, body(int(s)), args.target, 600) for s in args.search_seeds.split(",")]
            say(f"{name:<10}{statistics.median(r[0] for r in rows):>9.1f}"
                f"{statistics.median(r[2] for r in rows):>8g}{statistics.median(r[3] for r in rows):>8g}"
                f"{sum(r[1] for r in rows):>6}/{len(rows)}   {[round(r[0], 1) for r in rows]}")


if __name__ == "__main__":
    main()
