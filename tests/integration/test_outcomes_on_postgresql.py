"""A batch's outcomes on PostgreSQL: one statement writes them all, each under its own claim."""
import pytest
from sqlalchemy import text

from service.store import jobs
from service.store.db import make_engine, make_sessionmaker

# Columns whose values depend on when a row was written, not on what was written.
STAMPS = ("id", "created_at", "started_at", "finished_at", "heartbeat_at", "enqueued_at")


@pytest.fixture(scope="module")
def sessions(pg_url):
    engine = make_engine(pg_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def claimed(sessions, count, callback_url=None):
    """`count` new jobs, claimed by one worker as a batch: (id, attempt) each, in order."""
    with sessions() as session:
        ids = [jobs.create(session=session, variant="tensor", params={"steps": 2000},
                           callback_url=callback_url)[0].id for _ in range(count)]
        running = jobs.claim_named(session=session, ids=ids, worker="fitq-1@here", pid=7)
    return [(job.id, job.attempts) for job in running]


def outcomes(claims):
    """Every kind of outcome a worker writes, in turn: results with and without finite losses, errors
    with a step or not, devices or none, text that JSON must escape."""
    out = []
    for j, (job_id, attempt) in enumerate(claims):
        result = {"coefficients": {"b_0": j / 3, "b_1": -1e-300}, "formula": f"y = {j} + ‘x’ \"q\" \\",
                  "final_loss": None if j % 5 == 0 else j * 0.1, "duration_s": 0.25 + j,
                  "loss_history": [{"step": 99, "loss": 1.5}, {"step": 199, "loss": None}],
                  "excess_loss": None if j % 3 == 0 else j * 1e-3, "relative_excess_loss": j * 0.5}
        kind = j % 4
        if kind == 0:
            out.append(jobs.Outcome(job_id, attempt, "succeeded", result=result, device="cpu"))
        elif kind == 1:
            out.append(jobs.Outcome(job_id, attempt, "diverged", result=result,
                                    error={"type": "diverged", "message": "lower it"}, device="cuda"))
        elif kind == 2:
            out.append(jobs.Outcome(job_id, attempt, "failed", error={"type": "timeout", "message": "é"},
                                    step=j * 10))
        else:
            out.append(jobs.Outcome(job_id, attempt, "failed", error={"type": "ValueError", "message": "x"}))
    return out


def rows(sessions, ids):
    """The stored rows of `ids`, in that order, every column as PostgreSQL prints it."""
    with sessions() as session:
        found = {row["id"]: row for row in session.execute(
            text("SELECT *, result::text AS result, error::text AS error FROM jobs WHERE id = ANY(:ids)"),
            {"ids": list(ids)}).mappings()}
    return [dict(found[job_id]) for job_id in ids]


def test_one_statement_writes_the_same_rows_as_one_per_job(sessions):
    alone, together = claimed(sessions, 24), claimed(sessions, 24)
    with sessions() as session:
        assert jobs.finish_many(session=session, outcomes=outcomes(alone), per_job=True) == {i for i, _ in alone}
        assert jobs.finish_many(session=session, outcomes=outcomes(together)) == {i for i, _ in together}
    before, after = rows(sessions, [i for i, _ in alone]), rows(sessions, [i for i, _ in together])
    assert [row["status"] for row in after] == ["succeeded", "diverged", "failed", "failed"] * 6
    assert [row["result"] for row in after][2] == "null"  # JSON null, as the ORM writes None
    assert [row["progress_step"] for row in after][:4] == [2000, 0, 20, 0]
    assert [row["final_loss"] for row in after][:2] == [None, 0.1]
    assert [row["excess_loss"] for row in after][:2] == [None, 1e-3]
    assert [row["finished_at"] for row in after] == [after[0]["finished_at"]] * 24
    assert [{k: v for k, v in row.items() if k not in STAMPS} for row in after] == \
        [{k: v for k, v in row.items() if k not in STAMPS} for row in before]


def test_a_cancelled_or_taken_over_job_in_the_batch_is_left_alone(sessions):
    batch = claimed(sessions, 64)
    (cancelled, _), (taken, attempt) = batch[3], batch[40]
    with sessions() as session:
        jobs.cancel(session=session, job_id=cancelled)
        assert jobs.claim(session=session, job_id=taken, worker="fitq-2@there", takeover=attempt) is not None
    untouched = rows(sessions, [cancelled, taken])
    with sessions() as session:
        written = jobs.finish_many(session=session, outcomes=outcomes(batch))
    assert written == {i for i, _ in batch} - {cancelled, taken}
    assert rows(sessions, [cancelled, taken]) == untouched
    assert [row["status"] for row in rows(sessions, [taken, cancelled])] == ["running", "cancelled"]
    assert all(row["finished_at"] is not None and row["status"] != "running"
               for row in rows(sessions, sorted(written)))


def test_a_job_named_twice_gets_its_first_outcome(sessions):
    [(job_id, attempt)] = claimed(sessions, 1)
    with sessions() as session:
        assert jobs.finish_many(session=session, outcomes=[
            jobs.Outcome(job_id, attempt, "failed", error={"type": "first", "message": "1"}),
            jobs.Outcome(job_id, attempt, "succeeded", result={"final_loss": 1.0, "duration_s": 1.0})]) == {job_id}
    assert rows(sessions, [job_id])[0]["error"] == '{"type": "first", "message": "1"}'


def test_no_outcomes_write_nothing(sessions):
    with sessions() as session:
        assert jobs.finish_many(session=session, outcomes=[]) == set()


def test_each_written_job_with_a_callback_gets_its_webhook_in_the_same_write(sessions):
    batch = claimed(sessions, 8, callback_url="https://example.org/hook")
    (cancelled, _) = batch[0]
    with sessions() as session:
        jobs.cancel(session=session, job_id=cancelled)  # its webhook is the cancel's
        written = jobs.finish_many(session=session, outcomes=outcomes(batch))
    ids = [i for i, _ in batch]
    with sessions() as session:
        hooked = session.execute(text("SELECT job_id, count(*) FROM webhook_deliveries WHERE job_id = ANY(:ids) "
                                      "GROUP BY job_id"), {"ids": ids}).all()
    assert written == set(ids[1:])
    assert dict(hooked) == dict.fromkeys(ids, 1)
