"""Why dynamic diverges below its fixed-draw bound: the top Lyapunov exponent of its linear update.

    .venv/bin/python -m bench.dynamic_stability                 # factors of 2(1 + 0.9)/λmax, default shape

dynamic's step is SGD with momentum on one of three quadratics drawn at random (fits/dynamic.py); on
the cubic draw, e has no gradient, so torch.optim.SGD skips it and keeps its momentum buffer. This runs
exactly that linear system (the Hessians of fits/stability.py) from a random start and prints the mean
log growth per step: negative, the error dies out; positive, the run diverges. `--no-frozen-e` updates e
on every draw, which predicts divergence too early: the skip matters. docs/results.md has the numbers.
"""
from __future__ import annotations

import argparse

import numpy as np

from fits import stability


def exponent(rate: float, hessians: list[np.ndarray], frozen_e: bool, steps: int, seed: int) -> float:
    """Mean log growth per step of (b, η v) under `steps` random draws."""
    rng = np.random.default_rng(seed)
    b, v, total = rng.standard_normal(5), np.zeros(5), 0.0
    for _ in range(steps):
        draw = int(rng.integers(3))
        new = stability.MOMENTUM["dynamic"] * v + hessians[draw] @ b
        step = rate * new
        if draw == 0 and frozen_e:  # no gradient for e: SGD leaves it and its buffer as they were
            new[4], step[4] = v[4], 0.0
        v, b = new, b - step
        norm = float(np.sqrt(b @ b + (rate * v) @ (rate * v)))
        total += np.log(norm)
        b, v = b / norm, v / norm
    return total / steps


def main() -> None:
    """Print the exponent at each factor of the bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", default="0.15,0.2,0.22,0.24,0.26,0.3,0.4,0.9")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-frozen-e", dest="frozen_e", action="store_false")
    args = parser.parse_args()
    m = stability.moments(args.samples, 10, "float32")
    hessians = []
    for draw in stability.DRAWS:
        h = np.zeros((5, 5))
        h[:len(draw), :len(draw)] = stability.hessian(draw, m)
        hessians.append(h)
    bound = stability.learning_rate_limit("dynamic", args.samples, "float32")
    print(f"bound 2(1 + 0.9)/λmax = {bound:.5g}; e frozen on the cubic draw: {args.frozen_e}")
    print(f"{'factor':>6}  exponent per step, one per seed")
    for factor in map(float, args.factors.split(",")):
        values = [exponent(factor * bound, hessians, args.frozen_e, args.steps, s) for s in range(args.seeds)]
        print(f"{factor:>6g}  " + "  ".join(f"{v:+.4f}" for v in values), flush=True)


if __name__ == "__main__":
    main()
