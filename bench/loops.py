"""Each variant's loop against its seed program's: time, speed-up, and how far the logged losses differ.

    python -m bench.loops [--device cpu|cuda] [--repeat N] [--threads N]

Times are the best of N runs, the seed's and fitq's taken in turns in one process. The seed's is the
time of its `for t in range(2000)` statement alone (bench.seed_programs); fitq's is its result's
`duration_s`, the training loop alone (fits.loop.train: no set-up, no progress callbacks). Both start
from the same init (seed 0), so their printed and logged losses can be compared point by point. On
CUDA, fitq also runs without CUDA graphs (`eager ms`), and `graph vs eager` compares the two.
"""
from __future__ import annotations

import argparse
import math
import platform

import torch

from bench import seed_programs
from fits import catalog, registry

SEED = 0
# The targets: fitq's loop this many times faster than the seed's on the same device.
TARGETS = {"numpy": 10, "autograd": 10, "module": 10}
DEFAULT_TARGET = 4
# Issue 15 withdrew the CPU targets of the variants that call backward(): they sat below the cost of
# backward() itself (docs/benchmarks.md, "What bought the speed"); their batched rates (bench.batched)
# are the goals there now. On CUDA the targets stand.
WITHDRAWN_ON_CPU = frozenset({"autograd", "custom_function", "nn", "optim", "module"})
ORDER = ("numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module", "dynamic")


def fitq_params(variant: str, device: str, **overrides) -> dict:
    """The variant's API defaults on `device`, seed fixed."""
    return {**catalog.VARIANTS[variant].defaults, "seed": SEED, "device": device, **overrides}


def compare(variant: str, code: str | None, device: str, repeat: int) -> dict:
    """One table row: the loops run `repeat` times in turns, and their losses compared."""
    best = {"seed": math.inf, "fitq": math.inf, "eager": math.inf}
    seed_run = result = eager = None
    for _ in range(repeat):
        if code is not None:
            seed_run = seed_programs.run(variant, code, seed=SEED, device=device)
            best["seed"] = min(best["seed"], seed_run.loop_s)
        result = registry.run(variant, fitq_params(variant, device))
        best["fitq"] = min(best["fitq"], result.duration_s)
        if device == "cuda":
            eager = registry.run(variant, fitq_params(variant, device, cuda_graphs=False))
            best["eager"] = min(best["eager"], eager.duration_s)
    row = {"variant": variant, **{f"{k}_ms": v * 1e3 for k, v in best.items()},
           "target": TARGETS.get(variant, DEFAULT_TARGET),
           "withdrawn": device == "cpu" and variant in WITHDRAWN_ON_CPU}
    if seed_run is not None:
        row["seed_diff"] = differences(seed_run.losses, result.loss_history)
    if eager is not None:
        row["eager_diff"] = differences(eager.loss_history, result.loss_history)
    return row


def differences(reference: list, logged: list) -> tuple[float, bool]:
    """The largest relative difference between two loss histories, and whether they are the same bits."""
    if [t for t, _ in reference] != [t for t, _ in logged]:
        return math.nan, False
    rel = max((abs(a - b) / abs(a) if a else abs(b) for (_, a), (_, b) in zip(reference, logged)),
              default=0.0)
    return rel, reference == logged


def table(rows: list[dict], device: str) -> str:
    """The rows as a fixed-width text table."""
    head = f"{'variant':16} {'seed ms':>9} {'fitq ms':>9} {'speed-up':>9} {'target':>8} {'vs seed':>17}"
    if device == "cuda":
        head += f" {'eager ms':>9} {'graph vs eager':>17}"
    lines = [head]
    for r in rows:
        line = f"{r['variant']:16} " + (_seed_columns(r) if "seed_diff" in r else
                                         f"{'-':>9} {r['fitq_ms']:9.1f} {'-':>9} {'-':>8} {'-':>17}")
        if device == "cuda":
            line += f" {r['eager_ms']:9.1f} {_diff(r['eager_diff'])}"
        lines.append(line)
    if any(r.get("withdrawn") for r in rows):
        lines.append("withdrawn: issue 15 withdrew the CPU targets of the variants that call backward() (below the "
                     "cost of backward() itself); their goals are batched rates now (bench.batched)")
    return "\n".join(lines)


def _seed_columns(r: dict) -> str:
    speedup = r["seed_ms"] / r["fitq_ms"]
    met = "ok" if speedup >= r["target"] else "MISS"
    target = f"{'withdrawn':>9}" if r.get("withdrawn") else f"{r['target']:>3}x {met:>4}"
    return f"{r['seed_ms']:9.1f} {r['fitq_ms']:9.1f} {speedup:8.1f}x {target} {_diff(r['seed_diff'])}"


def _diff(diff: tuple[float, bool]) -> str:
    rel, identical = diff
    return f"{'identical' if identical else f'{rel:.1e} rel':>17}"


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run every variant, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each loop; the best counts")
    # Workers run with TORCH_THREADS=1 (the service's default), and so does this by default.
    parser.add_argument("--threads", type=int, default=1, help="torch threads (torch.set_num_threads)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    programs = seed_programs.programs()
    where = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    print(f"device {args.device} ({where}), torch {torch.__version__}, {args.threads} torch thread(s), "
          f"best of {args.repeat}, seed {SEED}; dynamic has no seed program and runs once", flush=True)
    # The numpy program runs on the CPU only. dynamic's 30,000 steps take longer than all the others.
    variants = [v for v in ORDER if not (v == "numpy" and args.device == "cuda")]
    rows = [compare(v, programs.get(v), args.device, 1 if v == "dynamic" else args.repeat) for v in variants]
    print(table(rows, args.device))


if __name__ == "__main__":
    main()
