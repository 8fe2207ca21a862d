"""Batched execution: several jobs of one variant and shape trained in one vectorised pass.

Each job keeps its own init (its seed's), learning rate and history; row j of every batched tensor is
job j, and no operation mixes rows, so a job that diverges never touches the others. How close each
job stays to its solo run (fits.registry.run), per variant, as tests/unit/fits/test_batched.py checks:

- custom_function: bit for bit on the CPU. Its step is elementwise plus row sums, and a row sum of a
  (B, N) tensor is the same reduction as the solo loop's sum of N values (with one torch thread, as
  workers run, or up to 32,768 samples: past that, two threads split a solo sum but not a row sum).
- numpy, tensor, autograd, module, nn: within 1e-5 relative on every logged loss; measured at most
  2e-6 in float32 (median 5e-7, 50 jobs) and 3e-15 in float64 (numpy). The cubic is one matrix
  product per batch (fits/batched/variants.py says why), which sums in another order than the solo
  loop's `.sum()`.
- optim: not reproducible. RMSprop here is chaotic: the rounding differences above are enough to
  move it, in float64 as in float32. Its logged losses agree to 1e-6 up to step 199, then drift:
  seeds 0-3 on the defaults by up to 3.2% of the loss late in the run (3-4% over seeds 0-19).

On a GPU nothing is bit for bit (the solo and batched reductions are launched with other shapes).
dynamic (an order drawn per step and job, and SGD momentum that skips the unused weight) and lstsq
(one solve, no loop to vectorise) run alone: their batch_key is None.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

import torch

from fits import legendre
from fits.batch_key import batch_key
from fits.batched import chunking as tuning
from fits.batched import variants as bv
from fits.batched.chunking import Tuner
from fits.batched.updates import Stepper
from fits.data import sine
from fits.device import numpy_device
from fits.errors import FitTimeout
from fits.formula import power_formulas
from fits.loop import Trace
from fits.result import FitResult

# progress(step_done, steps, losses): losses holds every job's loss at this history point, in order.
BatchProgress = Callable[[int, int, list], None]

BUILDERS = {
    "autograd": bv.autograd_cubics,
    "custom_function": bv.legendre_cubics,
    "module": bv.module_cubics,
    "nn": bv.sequential_cubics,
    "numpy": bv.numpy_cubics,
    "optim": bv.rmsprop_cubics,
    "tensor": bv.tensor_cubics,
}
# Bytes of one (jobs x samples) array per chunk on a GPU, where chunks only bound memory. On the CPU
# each variant's size is measured on the machine by its own passes (fits/batched/chunking.py).
CHUNK_BYTES = {"cuda": 1 << 29}
ITEM_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


# prune(step_done, losses): which jobs (indices) stop here, at a history point; see train_batch.
Prune = Callable[[int, list], set]
# on_stretch(first job, jobs, steps, seconds): a chunk's stretch of steps took that much of the
# training thread's CPU time; the first job (index) names the chunk.
Stretched = Callable[[int, int, int, float], None]


def run_batch(variant: str, params_list: Sequence[Mapping], on_progress: BatchProgress | None = None,
              deadline: float | None = None, prune: Prune | None = None,
              chunking: Tuner | None = None) -> list[FitResult]:
    """Run jobs with the same batch_key together; one FitResult per job, in order, each as registry.run would
    give (a job `prune` stopped: as it was at that history point). On the CPU `chunking` cuts the jobs
    into chunks and learns from the pass's timings (the process's own tuner unless given one)."""
    if not params_list:
        return []
    keys = {batch_key(variant, params) for params in params_list}
    if None in keys or len(keys) != 1:
        raise ValueError(f"jobs of variant {variant!r} with batch keys {sorted(map(str, keys))} "
                         "cannot share a pass; group them by batch_key")
    first = params_list[0]
    if variant == "numpy":
        where, data = numpy_device(first["device"]), bv.numpy_data(first["samples"], first["dtype"])
    else:
        data = sine(first["samples"], first["dtype"], first["device"])
        where = data.device.type
    row_bytes = first["samples"] * ITEM_BYTES.get(first["dtype"], 8)
    chunking = chunking or tuning.TUNER
    if where == "cpu":
        plan = chunking.plan(variant, len(params_list), row_bytes)
    else:
        size = max(1, CHUNK_BYTES["cuda"] // row_bytes)
        plan = [(min(size, len(params_list) - i), 0) for i in range(0, len(params_list), size)]
    starts = [sum(size for size, _ in plan[:k]) for k in range(len(plan))]
    chunks = [BUILDERS[variant](params_list[at:at + size], data) for at, (size, _) in zip(starts, plan)]
    planned = {at: chunk for at, chunk in zip(starts, plan)}

    def timed(first_job: int, rows: int, steps_done: int, seconds: float) -> None:
        size, budget = planned.get(first_job, (0, 0))  # a chunk that lost its first job was pruned
        if budget and rows == size:  # a chunk pruning has cut is no longer its candidate's size
            chunking.record(variant, budget, rows * steps_done, seconds)

    runs = train_batch(chunks, len(params_list), steps=first["steps"], log_every=first["log_every"],
                       on_progress=on_progress, deadline=deadline, prune=prune,
                       on_stretch=timed if where == "cpu" else None)
    return results(variant, runs, where)


def results(variant: str, runs: Sequence[tuple[list[float], Trace]], device: str) -> list[FitResult]:
    """Every job's FitResult, equal to the one its solo fit builds, at a few microseconds a job: the
    parameters are already Python floats (one tolist() per pass), the formulas come from one template,
    and each job's history list is used as it is rather than copied."""
    rows = [values for values, _ in runs]
    if variant == "custom_function":
        polynomials, formulas = [legendre.power_basis(row) for row in rows], legendre.formulas(rows)
    else:
        polynomials, formulas = rows, power_formulas(rows)
    names = [f"b_{i}" for i in range(len(rows[0]))] if rows else []
    device = str(device)
    return [FitResult(dict(zip(names, row)), polynomial, formula, trace.final_loss, trace.history,
                      trace.duration_s, device)
            for row, polynomial, formula, (_, trace) in zip(rows, polynomials, formulas, runs)]


def train_batch(chunks: Sequence[Stepper], size: int, *, steps: int, log_every: int,
                on_progress: BatchProgress | None = None, deadline: float | None = None,
                prune: Prune | None = None, on_stretch: Stretched | None = None) -> list[tuple[list[float], Trace]]:
    """Step every chunk `steps` times; (parameters, trace) per job. fits.loop.train's rules, per job:
    a job's history ends at its first non-finite logged loss (its parameters are kept as they were
    there), the pass stops once every job has, and FitTimeout is raised past `deadline`. At each history
    point `prune` (after on_progress) may stop more jobs the same way; every chunk then steps only its
    jobs still going (Stepper.keep), so the pass gets cheaper."""
    points: list[tuple[int, list[float]]] = []  # (step, every job's loss) per history point
    stopped: dict[int, tuple[int, float, list[float]]] = {}  # job: (its points, loss, parameters)
    chunks = list(chunks)
    # The jobs (indices) each chunk's rows are, in order: rows leave a chunk when their jobs stop.
    members, at = [], 0
    for chunk in chunks:
        members.append(list(range(at, at + len(chunk.values()))))
        at += len(members[-1])
    in_callback, losses, first = 0.0, [], 0
    start = time.perf_counter()
    while first < steps:
        # Each chunk takes every step up to the next history point (or the last step) in turn: its
        # arrays stay in cache for the stretch, where stepping every chunk at every step swept them all
        # each time (a 1,000-job numpy batch is 32 chunks, about 50 MB, past the 32 MB L3 cache).
        # Chunks share nothing, so each job's numbers are the same in either order.
        t = min(first + log_every - 1 - first % log_every, steps - 1)  # the stretch's last step
        if on_stretch is None:
            losses = [_stretch(chunk, first, t, steps, deadline) for chunk in chunks]
        else:
            losses = []
            for chunk, part in zip(chunks, members, strict=True):
                began = time.thread_time()
                losses.append(_stretch(chunk, first, t, steps, deadline))
                on_stretch(part[0], len(part), t + 1 - first, time.thread_time() - began)
        first = t + 1
        if (t + 1) % log_every:
            continue  # the last step, between history points
        values = spread(gather(losses), members, size)  # the one host sync of a history point
        points.append((t, values))
        if not all(map(math.isfinite, (v for j, v in enumerate(values) if j not in stopped))):
            stop(stopped, values, len(points), chunks, members,
                 {j for j, v in enumerate(values) if not math.isfinite(v)})
            if len(stopped) == size:
                break  # every job has diverged: nothing is left to compute
        values = [stopped[j][1] if j in stopped else v for j, v in enumerate(values)]
        points[-1] = (t, values)
        if on_progress is not None:
            called = time.perf_counter()
            on_progress(t + 1, steps, values)
            in_callback += time.perf_counter() - called
        if prune is not None:
            called = time.perf_counter()
            pruned = {j for j in prune(t + 1, values) if j not in stopped}
            in_callback += time.perf_counter() - called
            if pruned:
                stop(stopped, values, len(points), chunks, members, pruned)
                if len(stopped) == size:
                    break
                if t < steps - 1:  # after the last step the final losses are read from these chunks
                    chunks, members = shrink(chunks, members, stopped)
    finals = spread(gather(losses), members, size) if losses and len(stopped) < size else [math.nan] * size
    parameters = spread(gather([chunk.values() for chunk in chunks]), members, size)
    duration = time.perf_counter() - start - in_callback
    logged_steps = [t for t, _ in points]
    columns = list(zip(*(values for _, values in points))) or [()] * size  # columns[j]: job j's losses
    runs = []
    for j in range(size):
        count, final, params = stopped.get(j, (len(points), finals[j], parameters[j]))
        runs.append((params, Trace(list(zip(logged_steps[:count], columns[j][:count])), final, duration)))
    return runs


def _stretch(chunk: Stepper, first: int, last: int, steps: int, deadline: float | None):
    """Steps first..last of one chunk; the loss of the last (only it is wanted)."""
    for t in range(first, last + 1):
        if deadline is not None and time.monotonic() > deadline:
            raise FitTimeout(first, steps)  # every job has done `first` steps, some more
        loss = chunk.step(t == last)
    return loss


def spread(rows: list, members: Sequence[Sequence[int]], size: int) -> list:
    """Rows in chunk order, placed at their jobs' indices (None for a job no chunk steps any more)."""
    placed: list = [None] * size
    for j, row in zip((j for part in members for j in part), rows, strict=True):
        placed[j] = row
    return placed


def stop(stopped: dict, values: list[float], count: int, chunks: Sequence[Stepper],
         members: Sequence[Sequence[int]], jobs: set) -> None:
    """Close the history of each of `jobs` at this point, keeping its parameters as they are."""
    parameters = spread(gather([chunk.values() for chunk in chunks]), members, len(values))
    for j in jobs:
        if j not in stopped:
            stopped[j] = (count, values[j], parameters[j])


def shrink(chunks: list[Stepper], members: list[list[int]], stopped: dict) -> tuple[list, list]:
    """Drop the stopped jobs' rows from every chunk, and the chunks left with none."""
    kept_chunks, kept_members = [], []
    for chunk, part in zip(chunks, members, strict=True):
        rows = [r for r, j in enumerate(part) if j not in stopped]
        if not rows:
            continue
        if len(rows) < len(part):
            chunk, part = chunk.keep(rows), [part[r] for r in rows]
        kept_chunks.append(chunk)
        kept_members.append(part)
    return kept_chunks, kept_members


def gather(parts: Sequence) -> list:
    """Concatenate the chunks' tensors (or numpy arrays) along jobs into one Python list."""
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(list(parts)).tolist()
    return [row for part in parts for row in part.tolist()]
