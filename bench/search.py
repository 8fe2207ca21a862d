"""Grid, random and TPE search, with and without ASHA, to a target relative excess loss: trials, fitted
steps and wall time, in this process, through the code the sweeper and the worker run.

    .venv/bin/python -m bench.search                                  # tensor, lr 1e-7..3e-6 (log), seeds 0-999
    .venv/bin/python -m bench.search --variant optim --low 1e-4 --high 3e-2 --search-seeds 0,1,2

Each search asks batches of --parallelism trials (service.ops.search.ask: Optuna's samplers, seeded,
rebuilt from the finished trials as the sweeper rebuilds them) and runs each batch as one vectorised pass
(fits.batched.run_batch; with --asha, worker.pruning decides at the rungs exactly as a worker does), until
a trial's relative excess loss is at most --target or --most trials ran. `trials` is what was asked up to
and including the batch that reached it; `steps` the steps fitted (a pruned trial's stop at its rung);
`wall` the seconds of asking and fitting, no queue or database. The grid is --grid-lrs log-spaced rates
times the seeds in order (seed-major), the same whatever the search seed. Median of the search seeds.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from fits import batched
from fits.params import resolve
from service.ops import search
from service.store.models import Job, Sweep
from worker import pruning
from worker.tasks import measured


def trials_of(strategy, variant, space, base, seed, parallelism, pruner, target, most, grid):
    """(trials, fitted steps, wall s, reached) of one search."""
    sweep = Sweep(id="bench", variant=variant, strategy=strategy, asked=0,
                  search={"space": space, "seed": seed, "trials": most, "parallelism": parallelism, "base": base})
    done: list[Job] = []
    steps = wall = 0.0
    while len(done) < most:
        start = time.perf_counter()
        count = min(parallelism, most - len(done))
        points = grid[len(done):len(done) + count] if strategy == "grid" else search.ask(sweep, done, count)
        run = [Job(id=f"{len(done) + i:08d}", variant=variant, params=p, sweep_id="bench", status="running")
               for i, p in enumerate(points)]
        # Trials share a pass where their batch keys agree (optim's: where their learning rates do).
        groups: dict = {}
        for i, point in enumerate(points):
            groups.setdefault(batched.batch_key(variant, point), []).append(i)
        for rows in groups.values():
            part = [run[i] for i in rows]
            prune = pruning.Pruning(part, {"bench": (pruner, done)}) if pruner else None
            results = batched.run_batch(variant, [points[i] for i in rows], prune=prune)
            for j, (job, result) in enumerate(zip(part, results, strict=True)):
                outcome = {**result.to_dict(), **measured(job.params, result.to_dict()["final_loss"])}
                job.result, job.final_loss = outcome, outcome["final_loss"]
                job.relative_excess_loss = outcome["relative_excess_loss"]
                job.status = "diverged" if job.final_loss is None else \
                    "pruned" if prune is not None and j in prune.pruned else "succeeded"
                job.progress_step = (outcome["loss_history"][-1]["step"] + 1) if job.status == "pruned" \
                    else job.params["steps"]
                steps += job.progress_step
        wall += time.perf_counter() - start
        done += run
        sweep.asked = len(done)
        if any(j.status == "succeeded" and j.relative_excess_loss is not None and j.relative_excess_loss <= target
               for j in run):
            return len(done), steps, wall, True
    return len(done), steps, wall, False


def main() -> None:
    """Print one row per strategy: median trials, steps and wall time to the target over the search seeds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", default="tensor")
    parser.add_argument("--low", type=float, default=1e-7)
    parser.add_argument("--high", type=float, default=3e-6)
    parser.add_argument("--seeds", type=int, default=1000, help="the space's seeds are 0..N-1")
    parser.add_argument("--target", type=float, default=0.01)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--most", type=int, default=512)
    parser.add_argument("--search-seeds", default="0,1,2,3,4")
    parser.add_argument("--grid-lrs", type=int, default=8)
    parser.add_argument("--rungs", default="200,600")
    parser.add_argument("--steps", type=int, help="the variant's default when absent")
    parser.add_argument("--reduction-factor", type=int, default=3)
    parser.add_argument("--strategies", default="grid,random,random+asha,tpe,tpe+asha",
                        help="which rows to run (a grid of --most points alone, for example)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as workers run
    base = resolve(args.variant, {"seed": 0, **({"steps": args.steps} if args.steps else {})})
    space = {"learning_rate": {"low": args.low, "high": args.high, "log": True, "type": "float"},
             "seed": {"low": 0, "high": args.seeds - 1, "log": False, "type": "int"}}
    ratio = (args.high / args.low) ** (1 / max(1, args.grid_lrs - 1))
    grid = [resolve(args.variant, {**base, "seed": s, "learning_rate": args.low * ratio ** i})
            for s in range(args.seeds) for i in range(args.grid_lrs)]
    asha = {"kind": "asha", "rungs": [int(r) for r in args.rungs.split(",")],
            "reduction_factor": args.reduction_factor}
    print(f"{args.variant}: lr {args.low:g}..{args.high:g} (log), seeds 0-{args.seeds - 1}, target "
          f"{args.target:g}, parallelism {args.parallelism}, at most {args.most} trials; {base['steps']} steps x "
          f"{base['samples']} samples; ASHA rungs {asha['rungs']}, reduction factor {asha['reduction_factor']}")
    print(f"{'search':<14}{'trials':>8}{'steps':>12}{'wall s':>9}{'reached':>9}   per search seed (trials)")
    for name, strategy, pruner in [("grid", "grid", None), ("random", "random", None), ("random+asha", "random", asha),
                                   ("tpe", "tpe", None), ("tpe+asha", "tpe", asha)]:
        if name not in args.strategies.split(","):
            continue
        rows = [trials_of(strategy, args.variant, space, base, int(seed), args.parallelism, pruner, args.target,
                          args.most, grid) for seed in args.search_seeds.split(",")]
        trials, steps, wall = (statistics.median(r[i] for r in rows) for i in range(3))
        reached = sum(r[3] for r in rows)
        print(f"{name:<14}{trials:>8g}{steps:>12,.0f}{wall:>9.2f}{reached:>6}/{len(rows)}   "
              f"{[r[0] for r in rows]}", flush=True)
    print(f"(load average {', '.join(f'{x:.1f}' for x in __import__('os').getloadavg())})")
    assert math.isfinite(args.target)


if __name__ == "__main__":
    main()
