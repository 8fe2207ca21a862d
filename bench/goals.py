"""The CPU throughput goals of issue 15, and what a measured rate and floor say about each."""
from __future__ import annotations

# fits/s at B = 1000, default-size jobs, one torch thread.
CPU_GOALS = {"autograd": 200, "custom_function": 120, "module": 200, "nn": 200, "numpy": 300, "optim": 150,
             "tensor": 500}


def verdict(rate: float, floor: float, goal: float) -> str:
    """met, or why not: the floor (the arithmetic alone, bench.floors) below the goal means the goal
    cannot be reached on this machine with the variant's arithmetic; above it, the mechanism costs
    the difference."""
    if rate >= goal:
        return "met"
    short = f"missed by {100 * (1 - rate / goal):.0f}%"
    if floor < goal:
        return f"{short}: its arithmetic alone ({floor:.0f}) is below the goal here"
    return f"{short}: its arithmetic alone ({floor:.0f}) leaves room, the mechanism costs the rest"
