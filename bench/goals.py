"""The CPU throughput goals of issue 15, and what a measured rate and floor say about each."""
from __future__ import annotations

# fits/s at B = 1000, default-size jobs, one torch thread.
CPU_GOALS = {"autograd": 200, "custom_function": 120, "module": 200, "nn": 200, "numpy": 300, "optim": 150,
             "tensor": 500}


def verdict(rate: float, goal: float, ceiling: float, where: str) -> str:
    """met, or why not: a ceiling (bench.floors: the kernels plus the mechanism's fixed cost per step, at
    the best chunk size, `where`) below the goal means the goal cannot be reached on this machine without
    other arithmetic or another mechanism; above it, fitq's pass costs the difference."""
    if rate >= goal:
        return "met"
    short = f"missed by {100 * (1 - rate / goal):.0f}%"
    if ceiling < goal:
        return f"{short}: out of its mechanism's reach here (its ceiling is {ceiling:.0f}, at {where})"
    return f"{short}: its mechanism allows {ceiling:.0f} (at {where}); fitq's pass costs the rest"
