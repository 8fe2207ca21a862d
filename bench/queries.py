"""How GET /api/v1/jobs pages go at 100,000 jobs: the first, a middle and a deep page of every order,
filtered listings, and the plan PostgreSQL picks for each (EXPLAIN). It prints tables; it asserts nothing.

    .venv/bin/python -m bench.queries                      # PostgreSQL at 127.0.0.1 (a database of its own)
    .venv/bin/python -m bench.queries --database sqlite    # the same on a SQLite file
"""
import argparse
import os
import random
import re
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import event, insert, select, text

from bench.stack import PG_ADMIN, say
from service.api import listing
from service.app import create_app
from service.settings import Settings
from service.store import query
from service.store.migrate import upgrade
from service.store.models import Job

BEST = 8.817165410007027  # the optimum's loss at 2000 points: the excess columns of migration 0008
VARIANTS = ("numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module", "dynamic", "lstsq")
# Most jobs finished; a fifth have no final_loss (queued, running, failed, diverged), as in a busy service.
STATUSES = (("succeeded", 80), ("diverged", 5), ("failed", 5), ("queued", 5), ("running", 5))
SWEEP = "5" * 32  # 1,000 of the jobs, spread over the 30 days, belong to it
OLD_SWEEP = "a" * 32  # the 20 oldest jobs: a listing in created_at order must not walk to them
LIMIT = 50


def arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the table (default 100000)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--repeat", type=int, default=7, help="timings per page; the median is shown")
    parser.add_argument("--pg-admin", default=os.environ.get("TEST_PG_ADMIN", PG_ADMIN))
    return parser.parse_args(argv)


def rows(count, rng):
    """`count` job rows spread over 30 days, ids in created_at order as jobs.new_id makes them."""
    start = datetime.now(UTC) - timedelta(days=30)
    weights = [w for _, w in STATUSES]
    for i in range(count):
        created = start + timedelta(seconds=30 * 86400 * i / count)
        status = rng.choices([s for s, _ in STATUSES], weights)[0]
        done = status in ("succeeded", "diverged", "failed")
        loss = 8.8 * rng.lognormvariate(0.3, 0.6) if status == "succeeded" else None
        variant = VARIANTS[i % len(VARIANTS)]
        params = {"samples": 2000, "seed": rng.randrange(1000), "dtype": "float32", "device": "auto"}
        if variant != "lstsq":
            params.update(learning_rate=rng.choice((1e-6, 2e-6, 5e-6)), steps=2000, log_every=100)
        yield {"id": f"{int(created.timestamp() * 1e6):013x}{secrets.token_hex(10)[:19]}", "variant": variant,
               "status": status, "params": params, "progress_step": 0, "progress_steps": 2000,
               "attempts": int(status != "queued"), "created_at": created,
               "finished_at": created + timedelta(seconds=2) if done else None,
               "sweep_id": OLD_SWEEP if i < 20 else SWEEP if i % 100 == 0 else None, "final_loss": loss,
               "excess_loss": None if loss is None else loss - BEST,
               "relative_excess_loss": None if loss is None else (loss - BEST) / BEST,
               "duration_s": rng.uniform(0.05, 3.0) if status in ("succeeded", "diverged") else None,
               "result": {"final_loss": loss, "loss_history": []} if loss else None}


def fill(app, count):
    state = app.extensions["fitq"]
    generated, batch = rows(count, random.Random(20261127)), []
    with state.sessions() as session:
        for row in generated:
            batch.append(row)
            if len(batch) == 5000:
                session.execute(insert(Job), batch)
                batch = []
        if batch:
            session.execute(insert(Job), batch)
        session.commit()
    # PostgreSQL's autovacuum would analyse the table soon enough; fitq never runs ANALYZE on SQLite,
    # so its planner goes by its built-in guesses there, as in service.
    if state.engine.dialect.name == "postgresql":
        with state.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def timed(client, url, repeat):
    """(median ms, the answer) of GET url."""
    times, body = [], None
    client.get(url)  # warm: the first request of a kind pays for imports and statement caches
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        body = response.get_json()
    return statistics.median(times), body


def cursor_at(app, order, offset):
    """The cursor a client holds after `offset` jobs of `order` (found once with OFFSET, not timed)."""
    key, descending = order.lstrip("-"), order.startswith("-")
    column = query.COLUMNS[key]
    with app.extensions["fitq"].sessions() as session:
        ordered = [column.is_(None)] + [k.desc() if descending else k for k in (column, Job.id)]
        job = session.scalars(select(Job).order_by(*ordered).offset(offset - 1).limit(1)).one()
        return listing.encode_cursor((getattr(job, key), job.id), order)


def plans(app, client, url):
    """The index scans PostgreSQL (or SQLite) chose for the statements GET url ran."""
    engine, seen = app.extensions["fitq"].engine, []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and "FROM jobs" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    found = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            if engine.dialect.name == "postgresql":
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                # A plan node's line ends in "  (cost=..."; "Sort Key:" and "Filter:" lines do not.
                nodes = re.findall(r"^(?:\s*->\s*)?([A-Z][A-Za-z ]*?)(?: using (\w+))?(?: on \w+)?  \(cost",
                                   plan, re.M)
                nodes = [(node, index) for node, index in nodes if node not in ("Limit", "Result")]
                found.append(", ".join(f"{node} {index}".strip() for node, index in nodes))
            else:
                found.append(", ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                           parameters)))
    return " + ".join(found)


def main(argv=None):
    args = arguments(argv)
    admin, name, path = None, None, None
    if args.database == "postgresql":
        admin = psycopg.connect(args.pg_admin, autocommit=True)
        name = f"fitq_bench_{secrets.token_hex(4)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{args.pg_admin.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    else:
        path = tempfile.mkdtemp(prefix="fitq-bench-")
        url = f"sqlite:///{path}/bench.db"
    try:
        upgrade(url)
        # No Redis is touched: no rate limit, no tokens, and nothing is queued.
        app = create_app(Settings.from_env({}, database_url=url, redis_url="redis://127.0.0.1:1/0",
                                           rate_limit_per_minute=0, auth="off", data_dir=path or "data"))
        start = time.perf_counter()
        fill(app, args.jobs)
        say(f"{args.database}: {args.jobs:,} jobs inserted in {time.perf_counter() - start:.1f} s; "
            f"pages of {LIMIT}, median of {args.repeat}")
        report(app, app.test_client(), args)
    finally:
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def report(app, client, args):
    middle, deep = args.jobs // 2, args.jobs - 1000
    say()
    say(f"| order_by | first page | page at {middle:,} | page at {deep:,} | plan (first page; deep page) |")
    say("|---|---:|---:|---:|---|")
    for order in listing.ORDERS:
        base = f"/api/v1/jobs?order_by={order}&limit={LIMIT}"
        first, _ = timed(client, base, args.repeat)
        cells, plan = [], plans(app, client, base)
        for offset in (middle, deep):
            url = f"{base}&cursor={cursor_at(app, order, offset)}"
            ms, _ = timed(client, url, args.repeat)
            cells.append(f"{ms:.1f} ms")
        plan += "; " + plans(app, client, url)
        say(f"| `{order}` | {first:.1f} ms | {cells[0]} | {cells[1]} | {plan} |")
    say()
    say("| filtered listing | first page | plan |")
    say("|---|---:|---|")
    one_day = datetime.now(UTC) - timedelta(days=20)
    for q in ("variant=lstsq", "variant=tensor&order_by=final_loss", "status=succeeded&order_by=-final_loss",
              "status=queued,running", "status=failed&order_by=final_loss",
              "status=failed&order_by=duration_s", "status=failed,cancelled&order_by=final_loss",
              f"sweep={SWEEP}", f"sweep={SWEEP}&order_by=final_loss", f"sweep={OLD_SWEEP}",
              f"sweep={OLD_SWEEP}&order_by=duration_s",
              f"created_after={(one_day).strftime('%Y-%m-%dT%H:%M:%SZ')}"
              f"&created_before={(one_day + timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
              "param.learning_rate=2e-6&order_by=final_loss", "param.seed=3&param.dtype=float32",
              "status=failed&order_by=excess_loss", "status=succeeded&order_by=relative_excess_loss",
              "max_relative_excess_loss=0.01&order_by=excess_loss"):
        url = f"/api/v1/jobs?{q}&limit={LIMIT}"
        ms, body = timed(client, url, args.repeat)
        say(f"| `{q}` ({len(body['items'])} jobs) | {ms:.1f} ms | {plans(app, client, url)} |")
    say()
    say("| order_by | every job, pages of 200 | per page |")
    say("|---|---:|---:|")
    for order in listing.ORDERS:
        start, pages, seen, cursor = time.perf_counter(), 0, 0, ""
        while True:
            body = client.get(f"/api/v1/jobs?order_by={order}&limit=200{cursor}").get_json()
            pages, seen = pages + 1, seen + len(body["items"])
            if body["next_cursor"] is None:
                break
            cursor = f"&cursor={body['next_cursor']}"
        took = time.perf_counter() - start
        say(f"| `{order}` | {seen:,} jobs in {took:.2f} s | {took / pages * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
