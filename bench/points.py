"""A heartbeat's progress points on PostgreSQL: the multi-row VALUES it wrote before against the one
JSON parameter of service.store.points.add.

    .venv/bin/python -m bench.points                    # 17 history points of a batch of 64, 10 rounds

Each round inserts a heartbeat's points (a batch of `--jobs` jobs at `--points` history points: what
half a second of a default-size pass brings) into a fresh database (bench/stack.py's Database), both
ways in turn, and prints each way's wall and CPU milliseconds per beat: the CPU is the worker's, spent
holding the GIL its training loop needs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from sqlalchemy.dialects import postgresql

from bench.stack import PG_ADMIN, fresh_sessions
from service.store import jobs, points
from service.store.models import ProgressPoint


def before(session, rows) -> None:
    """What points.add did before: every point a bound parameter of one compiled INSERT."""
    values = [{"job_id": job_id, "step": step, "loss": points.finite(loss)} for job_id, step, loss in rows]
    session.execute(postgresql.insert(ProgressPoint).values(values).on_conflict_do_nothing())
    session.commit()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.points", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--points", type=int, default=17)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    args = parser.parse_args(argv)
    with fresh_sessions(args.pg_admin, "points") as sessions:
        with sessions() as session:
            ids = [jobs.create(session=session, variant="tensor", params={})[0].id for _ in range(args.jobs)]
        ways = {"multi-row VALUES (before)": before,
                "one JSON parameter (points.add)": lambda s, rows: points.add(session=s, rows=rows)}
        took: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for r in range(args.rounds):
            for w, (name, write) in enumerate(ways.items()):
                first = (2 * r + w) * args.points * 100  # steps no other beat wrote
                rows = [(job_id, first + 100 * p + 99, 1.0 / (p + 1)) for p in range(args.points) for job_id in ids]
                with sessions() as session:
                    wall, cpu = time.perf_counter(), time.process_time()
                    write(session, rows)
                    took[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        print(f"{args.jobs * args.points} points a beat ({args.jobs} jobs x {args.points} history points), "
              f"median (min-max) of {args.rounds}, ms")
        print(f"{'way':34} {'wall':>22} {'cpu':>22} {'load':>5}")
        for name, times in took.items():
            cells = [f"{statistics.median(v) * 1e3:6.1f} ({min(v) * 1e3:5.1f}-{max(v) * 1e3:5.1f})"
                     for v in zip(*times)]
            print(f"{name:34} {cells[0]:>22} {cells[1]:>22} {os.getloadavg()[0]:5.1f}")


if __name__ == "__main__":
    main()
