"""The CPU throughput goals of issue 15, and what a measured rate and floor say about each."""
from __future__ import annotations

# fits/s at B = 1000, default-size jobs, one torch thread.
CPU_GOALS = {"autograd": 200, "custom_function": 120, "module": 200, "nn": 200, "numpy": 300, "optim": 150,
             "tensor": 500}


def verdict(rate: float, goal: float, ceiling: float, where: str) -> str:
    """met, or why not: a ceiling (bench.floors: the kernels plus the mechanism's fixed cost per step, at
    the best chunk size, `where`, measured beside the passes that gave the rate) below the goal means the
    goal cannot be reached on this machine without other arithmetic or another mechanism; above it,
    fitq's pass costs the difference. A ceiling read below the rate is off by at least that much (the
    mechanism reached the rate): it decides only a goal further above the rate than that."""
    if rate >= goal:
        return "met"
    short = f"missed by {100 * (1 - rate / goal):.0f}%"
    if ceiling >= goal:
        return f"{short}: its mechanism allows {ceiling:.0f} (at {where}); fitq's pass costs the rest"
    if ceiling >= rate:
        return f"{short}: out of its mechanism's reach here (its ceiling is {ceiling:.0f}, at {where})"
    # The pass ran at its ceiling, and the ceiling, timed beside it, read low by rate / ceiling: the
    # true one lies at or above the rate, and a goal within the same margin above it is not decided.
    low = rate / ceiling - 1
    if rate * (1 + low) < goal:
        return (f"{short}: out of its mechanism's reach here: it runs at its ceiling (read {ceiling:.0f} at "
                f"{where}, {100 * low:.0f}% under the rate), and {goal:.0f} is {100 * (goal / rate - 1):.0f}% above "
                "the rate")
    return (f"{short}: undecided: its ceiling read {ceiling:.0f} (at {where}), {100 * low:.0f}% under the rate "
            f"itself, and {goal:.0f} lies within that margin above the rate; run again to tell whether it is in reach")
