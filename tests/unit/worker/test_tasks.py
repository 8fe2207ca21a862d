"""One delivery of a message, in process on a real SQLite file and Redis: the database down at the claim or
at the outcome, a message naming more jobs than BATCH_SIZE, and a batch-mate's own message coming later."""
import logging
import re
from pathlib import Path

from sqlalchemy.exc import OperationalError

from fits.batched import chunking
from service.store import jobs
from worker import tasks
from worker.tasks import run_message, warm

WORKER = "fitq-2@box"


def _database_gone(settings):
    """Put a folder where the SQLite file was: every new connection fails; returns what undoes it."""
    path = Path(settings.database.removeprefix("sqlite:///"))
    moved = [p for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))) if p.exists()]
    for p in moved:
        p.rename(p.with_name(p.name + ".away"))
    path.mkdir()

    def back():
        path.rmdir()
        for p in moved:
            p.with_name(p.name + ".away").rename(p)

    return back


def test_with_the_database_down_at_the_claim_the_jobs_stay_queued(context, add_jobs, row, settings, caplog):
    ctx = context()
    first, mate = add_jobs(2)
    back = _database_gone(settings)
    try:
        assert run_message(ctx, first, [mate], worker=WORKER) == "database unavailable"
    finally:
        back()

    # The sweeper sends them again once the database is back (tests/unit/service/ops/test_sweeper.py).
    assert [(row(j).status, row(j).attempts) for j in (first, mate)] == [("queued", 0)] * 2
    assert f"job {first} not started: claim of job {first}: database unreachable for 0.3s" in caplog.text
    assert run_message(ctx, first, [mate], worker=WORKER) == "succeeded"


def test_an_outcome_the_database_never_takes_is_given_up_and_the_job_left_running(
        context, add_jobs, row, monkeypatch, caplog):
    ctx = context()
    first, mate = add_jobs(2)

    def unreachable(**_):
        raise OperationalError("UPDATE jobs", {}, Exception("server closed the connection unexpectedly"))

    # Patched because only the outcome's write must fail, after the claim and the fit: a SQLite file
    # taken away mid-run is still written through the connection already open.
    monkeypatch.setattr(jobs, "finish_many", unreachable)
    assert run_message(ctx, first, [mate], worker=WORKER) == "outcome not written: database unavailable"

    # Still running with a heartbeat that goes stale: the sweeper queues them again.
    assert [(row(j).status, row(j).attempts, row(j).result) for j in (first, mate)] == [("running", 1, None)] * 2
    assert f"outcomes lost: outcome of job {first}, {mate}: database unreachable for 0.3s" in caplog.text


def test_a_message_naming_more_jobs_than_batch_size_sends_the_rest_on_unclaimed(context, add_jobs, row,
                                                                                messages):
    ctx = context(batch_size=2)
    made = add_jobs(4)

    assert run_message(ctx, made[0], made[1:], worker=WORKER, queue="fitq") == "succeeded"

    assert [row(j).status for j in made] == ["succeeded", "succeeded", "queued", "queued"]
    assert messages() == {"fitq": [made[2:]]}  # one message, on the queue it came from


def test_a_message_of_jobs_too_long_to_share_one_pass_within_their_budget_sends_the_rest_on(context, add_jobs,
                                                                                           row, messages):
    # 200 steps x 25,000 samples a job: half a 1 s budget at 2.5e7 sample-steps a second holds two.
    ctx = context(default_timeout_s=1)
    made = add_jobs(5, samples=25_000, learning_rate=2e-8)  # a larger sum needs a smaller rate

    assert run_message(ctx, made[0], made[1:4], worker=WORKER, queue="fitq") == "succeeded"

    # The surplus was claimed with the message and given back unrun: no attempt counted.
    assert [(row(j).status, row(j).attempts) for j in made] == \
        [("succeeded", 1), ("succeeded", 1), ("queued", 0), ("queued", 0), ("queued", 0)]
    # The named ones go back, in a message a pass can hold, to the queue their device asks for (as the
    # API sends them); made[4] is not taken as a sibling and waits for its own.
    assert messages() == {"cpu": [made[2:4]]}


def test_a_job_that_ran_as_a_batch_mate_skips_its_own_message_once(context, add_jobs, row):
    ctx = context()
    first, waiting = add_jobs(2)  # each sent in a message of its own

    assert run_message(ctx, first, worker=WORKER) == "succeeded"
    assert row(waiting).status == "succeeded"  # claimed from the queue into first's pass

    assert run_message(ctx, waiting, worker=WORKER) == "skipped: ran in a batch"
    # Remembered once: a later duplicate is checked against the database like any other.
    assert run_message(ctx, waiting, worker=WORKER) == "is succeeded, not queued; duplicate delivery skipped"


def test_a_cancelled_job_is_not_run(context, add_jobs, row, settings, caplog):
    ctx = context()
    (job_id,) = add_jobs(1)
    with ctx.store.session() as session:
        jobs.cancel(session=session, job_id=job_id)

    with caplog.at_level(logging.INFO, "worker.tasks"):
        assert run_message(ctx, job_id, worker=WORKER) == "is cancelled, not queued; duplicate delivery skipped"
    assert (row(job_id).status, row(job_id).attempts) == ("cancelled", 0)


def test_the_warm_up_claims_nothing_and_a_missing_database_only_warns(context, add_jobs, row, settings, caplog):
    ctx = context()
    [waiting] = add_jobs(1)
    warm(ctx)
    assert (row(waiting).status, row(waiting).attempts) == ("queued", 0)
    back = _database_gone(settings)
    try:
        warm(context())  # a fresh process's store, whose first connection fails
    finally:
        back()
    assert "database warm-up skipped" in caplog.text
    assert run_message(ctx, waiting, worker=WORKER) == "succeeded"


def test_a_batch_logs_where_its_pass_went(context, add_jobs, caplog):
    caplog.set_level(logging.INFO, logger="worker.tasks")
    first, mate = add_jobs(2)
    assert run_message(context(), first, [mate], worker=WORKER) == "succeeded"
    assert re.search(r"pass of 2 \w+ jobs: claim [\d.]+ ms, fit [\d.]+ s, outcomes [\d.]+ ms, write [\d.]+ ms",
                     caplog.text)


def test_a_worker_says_once_which_cpu_chunk_size_its_passes_chose(context, add_jobs, caplog, monkeypatch):
    # Rows of 200 float32 samples are 800 bytes: chunks of 1 and 2 jobs are compared, every timing counts.
    monkeypatch.setattr(chunking, "TUNER", chunking.Tuner((800, 1600), settle_s=0.0))
    monkeypatch.setattr(tasks, "_announced", set())
    caplog.set_level(logging.INFO, logger="worker.tasks")
    first, *mates = add_jobs(6)
    assert run_message(context(), first, mates, worker=WORKER) == "succeeded"
    again, *more = add_jobs(6)
    assert run_message(context(), again, more, worker=WORKER) == "succeeded"

    said = re.findall(r"tensor passes: CPU chunk size measured: 0 KB [\d.]+, 1 KB [\d.]+ fits/s of 2000-step "
                      r"jobs; chosen (\d) KB", caplog.text)
    assert len(said) == 1 and chunking.TUNER.chosen("tensor") in (800, 1600)
