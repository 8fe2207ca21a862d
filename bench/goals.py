"""The CPU throughput goals of issue 15, and what a measured rate and floor say about each."""
from __future__ import annotations

# fits/s at B = 1000, default-size jobs, one torch thread.
CPU_GOALS = {"autograd": 200, "custom_function": 120, "module": 200, "nn": 200, "numpy": 300, "optim": 150,
             "tensor": 500}


def verdict(rate: float, goal: float, ceiling: float, where: str) -> str:
    """met, or why not: a ceiling (bench.floors: the kernels plus the mechanism's fixed cost per step, at
    the best chunk size, `where`) below the goal means the goal cannot be reached on this machine without
    other arithmetic or another mechanism; above it, fitq's pass costs the difference; below the rate
    itself, it decides nothing."""
    if rate >= goal:
        return "met"
    short = f"missed by {100 * (1 - rate / goal):.0f}%"
    if ceiling < rate:
        # The mechanism did reach the rate, so the true ceiling is at least that: the two were measured
        # at moments far apart on a machine whose speed drifts (docs/benchmarks.md), and this one read low.
        return (f"{short}: undecided: its ceiling read {ceiling:.0f} (at {where}), below the rate itself, so "
                f"the machine's speed moved between the two; run again to tell whether {goal:.0f} is in reach")
    if ceiling < goal:
        return f"{short}: out of its mechanism's reach here (its ceiling is {ceiling:.0f}, at {where})"
    return f"{short}: its mechanism allows {ceiling:.0f} (at {where}); fitq's pass costs the rest"
