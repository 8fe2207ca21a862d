"""How many jobs a CPU chunk holds: each variant's size measured on this machine, by its own passes.

A chunk's (jobs x samples) arrays should stay in cache while it steps, but each chunk-step also costs
a fixed 10-150 us of Python, autograd and optimizer work, so the best size is a trade that depends on
the machine: the same code ran tensor at B = 1000 fastest with 2 MB chunks on one 2-core machine and
with 1 MB (1.8x faster than at 2 MB) on another with the same L2 (docs/benchmarks.md). So no size is
fixed. Until a variant has settled, its passes cut their jobs into chunks of every candidate size in
turn, and each chunk's stretches are timed in the training thread's CPU time: the candidates are
compared in the same passes, at the same moments, so a machine's load moves them alike. A size far
slower than the best after a quarter of `settle_s` is cut no more; once every other candidate has run
for `settle_s` the fastest is used for every later pass of that variant in this process. Chunks share
nothing, so the sizes change no job's numbers (tests/unit/fits/test_batched.py checks jobs on both
sides of a boundary against their solo runs).
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

# Bytes of one (jobs x samples) array per chunk. 256 KB to 2 MB held the best size of every variant on
# the machines measured; past 2 MB a chunk's arrays leave a 2 MB L2 and no variant was faster.
CANDIDATES = (256 << 10, 512 << 10, 1 << 20, 2 << 20)
# CPU seconds each candidate runs before the choice: about one 1,000-job default pass of tensor, and
# under one of custom_function (its chunks are slower, so they accumulate time faster).
SETTLE_S = 1.0
# A candidate measured slower than this share of the best, each having run a quarter of SETTLE_S, is cut
# no more: a fresh worker's first passes otherwise spend a CPU second on each clearly slow size (module:
# 256 KB ran 59 fits/s against 175 at 2 MB, and a 1,000-point sweep at BATCH_SIZE=512 took 11.6 s
# while measuring against 6.7 s once settled). Sizes within a third of the best run the full second.
DROP_BELOW = 2 / 3
# What an unsettled pass's other jobs run at before any size is measured: 1 MB was the best or within a
# fifth of it for every variant on the machines measured, where 2 MB ran numpy at half its best and
# 256 KB module at two fifths (docs/benchmarks.md).
FIRST_GUESS = 1 << 20
# The most of an unsettled pass's jobs cut into sizes still being measured (at least one chunk); a
# bench that settles before it measures gives 1, every job.
EXPLORE_SHARE = 1 / 4


@dataclass
class _Measured:
    job_steps: int = 0
    seconds: float = 0.0

    def rate(self) -> float:
        return self.job_steps / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Variant:
    measured: dict[int, _Measured] = field(default_factory=dict)
    offered: set[int] = field(default_factory=set)  # the candidates a plan has cut chunks of
    dropped: set[int] = field(default_factory=set)  # offered, and measured far slower than the best
    chosen: int | None = None


class Tuner:
    """Chunk budgets per variant: candidates in turn until measured, then the fastest."""

    def __init__(self, candidates: Sequence[int] = CANDIDATES, settle_s: float = SETTLE_S,
                 explore: float = EXPLORE_SHARE):
        if not candidates or any(c <= 0 for c in candidates):
            raise ValueError(f"chunk budgets must be positive byte counts, not {list(candidates)}")
        self.candidates = tuple(sorted(set(candidates)))
        self.settle_s, self.explore = settle_s, explore
        self._variants: dict[str, _Variant] = {}
        self._lock = threading.Lock()  # a worker's passes run one at a time, benches' may not

    def plan(self, variant: str, count: int, row_bytes: int) -> list[tuple[int, int]]:
        """(jobs, budget) per chunk, in order, covering `count` jobs whose rows are `row_bytes` each."""
        with self._lock:
            state = self._state(variant)
            chosen = state.chosen
            if chosen is not None or len(self.candidates) == 1:
                budget = chosen if chosen is not None else self.candidates[0]
                return _cut(count, [(_jobs(budget, row_bytes), budget)])
            # Only candidates whose chunk this batch can fill are compared; with fewer than two of them
            # the batch is one chunk, as every candidate past its size would make it: nothing is learnt.
            fitting = [(_jobs(budget, row_bytes), budget) for budget in self.candidates
                       if _jobs(budget, row_bytes) <= count and budget not in state.dropped]
            if len({size for size, _ in fitting}) < 2:
                return [(count, 0)]
            # A batch cut to compare sizes is compared whole too, under the first candidate past its size
            # (which would make it one chunk): 64-job numpy passes ran 2-6% faster whole than in the 32-job
            # chunks a worker settled on, never having timed them whole (docs/benchmarks.md).
            whole = next((budget for budget in self.candidates if _jobs(budget, row_bytes) > count), None)
            if whole is not None and whole not in state.dropped:
                fitting.append((count, whole))
            state.offered.update(budget for _, budget in fitting)
            # Sizes still short of settle_s, the least measured first (the largest first at the start):
            # a batch shorter than a round of them all still reaches each in a later pass.
            measuring = sorted((chunk for chunk in fitting if not _ran(state, chunk[1], self.settle_s)),
                               key=lambda chunk: (_seconds(state, chunk[1]), -chunk[0]))
            best = _best(state, fitting, self.settle_s / 4)
        # A chunk keeps its size for all of the pass's steps, so a pass cut into every size in turn runs
        # its slow sizes from start to end: a quarter of the jobs go to sizes being measured (each about
        # as many jobs as the largest: one chunk of it, two of half its size...) and the rest run at
        # the best size so far. The comparison stays inside the same passes.
        widest = fitting[-1][0]
        cycle = [chunk for chunk in measuring for _ in range(max(1, round(widest / chunk[0])))]
        explored: list[tuple[int, int]] = []
        jobs = 0
        for size, budget in itertools.cycle(cycle):  # rounds in turn, until the share is reached
            if explored and jobs + size > count * self.explore:
                break
            explored.append((size, budget))
            jobs += size
        return explored + _cut(count - jobs, [best])

    def record(self, variant: str, budget: int, job_steps: int, seconds: float) -> None:
        """A full chunk of `budget` did `job_steps` (jobs x steps) in `seconds` of CPU time (budget 0,
        a chunk no candidate made, is not counted)."""
        with self._lock:
            state = self._state(variant)
            if state.chosen is not None or budget not in state.offered or budget in state.dropped:
                return
            entry = state.measured.setdefault(budget, _Measured())
            entry.job_steps += job_steps
            entry.seconds += seconds
            probed = {b: m.rate() for b, m in state.measured.items()
                      if m.seconds >= self.settle_s / 4 and b not in state.dropped}
            if probed:
                best = max(probed.values())
                state.dropped |= {b for b, rate in probed.items() if rate < DROP_BELOW * best}
            # Settled once every candidate its batches could fill has run long enough, or is dropped: a
            # worker whose batches never fill the largest chunk chooses among the rest.
            live = state.offered - state.dropped
            if len(live) == 1 or all(_ran(state, b, self.settle_s) for b in live):
                state.chosen = max(live, key=lambda b: state.measured[b].rate())

    def chosen(self, variant: str) -> int | None:
        """The budget this variant settled on, or None while it is still measuring."""
        with self._lock:
            return self._state(variant).chosen

    def rates(self, variant: str) -> dict[int, float]:
        """Job-steps per CPU second measured so far, per candidate budget."""
        with self._lock:
            return {b: m.rate() for b, m in sorted(self._state(variant).measured.items())}

    def _state(self, variant: str) -> _Variant:
        return self._variants.setdefault(variant, _Variant())


def _best(state: _Variant, fitting: list[tuple[int, int]], probe_s: float) -> tuple[int, int]:
    # The fastest of the sizes measured for probe_s; before any has been, the largest up to FIRST_GUESS.
    probed = [chunk for chunk in fitting if _ran(state, chunk[1], probe_s)]
    if not probed:
        return ([chunk for chunk in fitting if chunk[1] <= FIRST_GUESS] or fitting)[-1]
    return max(probed, key=lambda chunk: state.measured[chunk[1]].rate())


def _ran(state: _Variant, budget: int, seconds: float) -> bool:
    # Whether this size has been measured, for at least `seconds`.
    return budget in state.measured and state.measured[budget].seconds >= seconds


def _seconds(state: _Variant, budget: int) -> float:
    measured = state.measured.get(budget)
    return measured.seconds if measured is not None else 0.0


def _jobs(budget: int, row_bytes: int) -> int:
    return max(1, budget // max(1, row_bytes))


def _cut(count: int, cycle: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # Sizes taken from the cycle in turn; the last chunk holds what is left, however few, and is not
    # its candidate's size (budget 0: it is not measured).
    chunks, at, i = [], 0, 0
    while at < count:
        size, budget = cycle[i % len(cycle)]
        chunks.append((size, budget) if size <= count - at else (count - at, 0))
        at += size
        i += 1
    return chunks


def describe(rates: dict[int, float], chosen: int | None, steps: int = 2000) -> str:
    """'256 KB 410.2, 512 KB 813.0, ... fits/s; chosen 1 MB' for a log line, in default-size fits/s."""
    parts = ", ".join(f"{size_text(b)} {r / steps:.1f}" for b, r in rates.items())
    return f"{parts} fits/s of {steps}-step jobs" + (f"; chosen {size_text(chosen)}" if chosen else "")


def size_text(budget: int) -> str:
    """'1 MB', '512 KB'."""
    return f"{budget >> 20} MB" if budget >= 1 << 20 and budget % (1 << 20) == 0 else f"{budget >> 10} KB"


TUNER = Tuner()
