"""The learning-rate limits of fits/stability.py against real runs: the final loss at factors of the limit.

    .venv/bin/python -m bench.stability                                  # the plain variants, 0.9x and 1.1x
    .venv/bin/python -m bench.stability --variants dynamic --factors 0.15,0.3,0.9 --steps 3000 --seeds 0,1,2,3

Each run is fits.registry.run at the variant's default shape (CPU, one torch thread) with
learning_rate = factor x learning_rate_limit; a row shows the final loss per seed (inf or nan: diverged)
and the first logged step whose loss was not finite. docs/results.md has the tables it printed.
"""
from __future__ import annotations

import argparse
import math

import torch

from fits import registry, stability
from fits.params import resolve


def main() -> None:
    """Print one row per (variant, factor)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(stability.PLAIN))
    parser.add_argument("--factors", default="0.9,1.1")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--seeds", default="1")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'variant':9} {'factor':>6} {'learning_rate':>13}  final loss per seed (first non-finite step)")
    for variant in args.variants.split(","):
        for factor in map(float, args.factors.split(",")):
            cells = []
            for seed in map(int, args.seeds.split(",")):
                params = resolve(variant, {"seed": seed, "steps": args.steps, "log_every": 1, "device": "cpu"})
                rate = factor * stability.learning_rate_limit(variant, params["samples"], params["dtype"])
                result = registry.run(variant, {**params, "learning_rate": rate})
                bad = next((s for s, loss in result.loss_history if not math.isfinite(loss)), None)
                cells.append(f"{result.final_loss:.6g}" + ("" if bad is None else f" ({bad})"))
            print(f"{variant:9} {factor:>6g} {rate:>13.5g}  {', '.join(cells)}", flush=True)


if __name__ == "__main__":
    main()
