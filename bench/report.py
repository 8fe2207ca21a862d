"""The benchmarks' printing: percentiles, milliseconds, the machine line and goal lines."""
import math
import os
from datetime import datetime

from bench.stack import say


def pct(values, q):
    """The q-th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds):
    return f"{seconds * 1000:8.1f} ms"


def stamp(text):
    return datetime.fromisoformat(text).timestamp()


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), "unknown CPU")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: nproc {len(os.sched_getaffinity(0))}, {model}; load average {load} (shared machine)"


def heading(title):
    say()
    say(f"== {title} ==")
    say(machine())


def goal(text, met, value):
    say(f"goal: {text}: {'met' if met else 'NOT met'} ({value})")


def percentiles(rows):
    width = max(len(label) for label, _ in rows)
    say(f"{'':{width}}  {'p50':>11}  {'p95':>11}  {'max':>11}")
    for label, values in rows:
        if values:
            say(f"{label:<{width}}  {ms(pct(values, 50))}  {ms(pct(values, 95))}  {ms(max(values))}")
        else:
            say(label)
