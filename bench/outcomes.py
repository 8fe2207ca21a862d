"""Writing a batch's outcomes to PostgreSQL: one UPDATE per job against one statement for the batch.

    .venv/bin/python -m bench.outcomes                  # batches of 64 and 1000
    .venv/bin/python -m bench.outcomes --sizes 64 --rounds 5

For each batch size, jobs are created and claimed in a fresh database (bench/stack.py's Database),
then finished with default-size results (four coefficients, 20 history points, the optimum fields)
by `service.store.jobs.finish_many`, per job (`per_job=True`, what it did before issue 15) and in one
statement, in turn; each cell is the best of `--rounds` batches, in ms for the whole batch's
transaction, and µs a job.
"""
from __future__ import annotations

import argparse
import os
import time

from bench.stack import PG_ADMIN, fresh_sessions
from service.store import jobs


def result(j: int) -> dict:
    """A default-size job's stored result, as a worker writes it."""
    history = [{"step": t, "loss": 0.5 / (t + j + 1)} for t in range(99, 2000, 100)]
    return {"coefficients": {f"b_{i}": j * 0.1 + i for i in range(4)}, "polynomial": [j * 0.1 + i for i in range(4)],
            "formula": f"y = {j * 0.1!r} + 1.0 x + 2.0 x^2 + 3.0 x^3", "final_loss": history[-1]["loss"],
            "loss_history": history, "duration_s": 1.25, "device": "cpu", "excess_loss": 1e-3,
            "excess_ratio": 1.01, "optimum_loss": 0.5, "optimum_polynomial": [0.0, 0.85, 0.0, -0.09]}


def batch_write(sessions, size: int, per_job: bool) -> float:
    """Seconds finish_many took over `size` freshly claimed jobs."""
    with sessions() as session:
        ids = [jobs.create(session=session, variant="tensor", params={"steps": 2000})[0].id for _ in range(size)]
        claims = jobs.claim_named(session=session, ids=ids, worker="bench@here")
        outcomes = [jobs.Outcome(job.id, job.attempts, "succeeded", result=result(j), device="cpu")
                    for j, job in enumerate(claims)]
    with sessions() as session:  # a fresh session, as the worker's, with no jobs loaded
        started = time.perf_counter()
        written = jobs.finish_many(session=session, outcomes=outcomes, per_job=per_job)
        took = time.perf_counter() - started
    assert len(written) == size
    return took


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outcomes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[64, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    args = parser.parse_args(argv)
    with fresh_sessions(args.pg_admin, "outcomes") as sessions:
        print(f"finish_many on PostgreSQL, ms a batch (µs a job), best of {args.rounds}")
        print(f"{'jobs':>6} {'per job':>18} {'one statement':>18} {'load':>5}")
        for size in args.sizes:
            best = {True: float("inf"), False: float("inf")}
            for _ in range(args.rounds):
                for per_job in (True, False):
                    best[per_job] = min(best[per_job], batch_write(sessions, size, per_job))
            cells = [f"{best[p] * 1e3:8.1f} ({best[p] / size * 1e6:6.0f})" for p in (True, False)]
            print(f"{size:6} {cells[0]:>18} {cells[1]:>18} {os.getloadavg()[0]:5.1f}", flush=True)


if __name__ == "__main__":
    main()
