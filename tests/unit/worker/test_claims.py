"""Which jobs a delivery claims, in process on a real SQLite file and Redis: a named job of another shape
goes back to the queue, a batch-mate leads when the named job went elsewhere, a refused claim of more
waiting jobs still runs the message's own, and a job whose process died here is taken over or failed."""
import logging
import os
import shutil
import subprocess
import sys

from sqlalchemy import event, text

from service.store import jobs
from service.store.db import make_engine, make_sessionmaker
from service.store.models import Job
from worker import claims
from worker.tasks import run_message

WORKER = "fitq-2@box"


def _claim(settings, job_id, worker, pid, attempts=1):
    """Put a queued job in the hands of `worker`'s process `pid`, at attempt `attempts`."""
    engine = make_engine(settings.database)
    with make_sessionmaker(engine)() as session:
        jobs.claim(session=session, job_id=job_id, worker=worker, pid=pid)
        for attempt in range(1, attempts):
            jobs.claim(session=session, job_id=job_id, worker=worker, pid=pid, takeover=attempt)
    engine.dispose()


def _dead_pid():
    """The pid of a process that has exited and been reaped."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _messages(caplog):
    """The log lines, each whole (an operator reads them; a substring would pass a garbled line)."""
    return {record.getMessage() for record in caplog.records}


def test_a_named_job_of_another_shape_is_sent_back_to_the_queue_alone(context, add_jobs, row, messages,
                                                                      caplog):
    ctx = context()
    (first,), (other,) = add_jobs(1), add_jobs(1, steps=300)

    with caplog.at_level(logging.INFO, "worker.tasks"):
        assert run_message(ctx, first, [other], worker=WORKER) == "succeeded"
    assert f"job {other}, named in job {first}'s message, has another shape; sent again alone" in _messages(caplog)

    assert row(first).status == "succeeded"
    # Not run, so not an attempt: MAX_ATTEMPTS still allows it as many worker losses as any job.
    assert (row(other).status, row(other).attempts, row(other).result) == ("queued", 0, None)
    assert messages() == {"cpu": [[other]]}  # its own message, on its device's queue
    assert run_message(ctx, other, worker=WORKER) == "succeeded"
    assert row(other).attempts == 1


def test_when_the_named_job_went_elsewhere_a_batch_mate_leads_the_rest(context, add_jobs, row, caplog,
                                                                      settings):
    ctx = context()
    taken, mate, other = add_jobs(3)
    _claim(settings, taken, "fitq-1@elsewhere", pid=1)

    with caplog.at_level(logging.INFO, "worker.tasks"):
        assert run_message(ctx, taken, [mate, other], worker=WORKER) == "succeeded"

    assert [(row(j).status, row(j).worker) for j in (mate, other)] == [("succeeded", WORKER)] * 2
    assert (row(taken).status, row(taken).worker, row(taken).attempts) == ("running", "fitq-1@elsewhere", 1)
    assert f"job {mate} started: tensor attempt 1 on {WORKER} in a batch of 2 with {mate}" in caplog.text


def test_a_refused_claim_of_more_waiting_jobs_still_runs_the_messages_jobs(context, add_jobs, row, caplog,
                                                                          settings):
    ctx = context()
    first, named, waiting = add_jobs(3)
    # The database refuses the claim of the waiting job (a trigger stands in for a lock timeout or a
    # dropped connection between the named jobs' claim and this one); nothing in Python is patched.
    engine = make_engine(settings.database)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TRIGGER refuse BEFORE UPDATE OF status ON jobs WHEN OLD.id = '{waiting}' "
                          "BEGIN SELECT RAISE(ABORT, 'claim refused'); END"))
    engine.dispose()

    with caplog.at_level(logging.INFO, "worker.tasks"):
        assert run_message(ctx, first, [named], worker=WORKER) == "succeeded"

    assert [row(j).status for j in (first, named)] == ["succeeded", "succeeded"]
    assert (row(waiting).status, row(waiting).attempts) == ("queued", 0)  # left for its own message
    assert f"job {first}: claiming more waiting jobs failed; the message's jobs run alone" in _messages(caplog)
    assert f"in a batch of 2 with {first}" in caplog.text


def test_a_message_for_a_job_that_does_not_exist_is_dropped(context, messages):
    assert run_message(context(), jobs.new_id(), worker=WORKER) == "does not exist; message dropped"
    assert messages() == {}


def test_a_job_whose_process_died_here_is_taken_over_by_its_redelivery(context, add_jobs, row, settings):
    (job_id,) = add_jobs(1)
    _claim(settings, job_id, "fitq-1@box", pid=_dead_pid())  # the same host as WORKER

    assert run_message(context(), job_id, worker=WORKER) == "succeeded"

    assert (row(job_id).status, row(job_id).attempts, row(job_id).worker) == ("succeeded", 2, WORKER)


def test_a_redelivery_that_loses_the_takeover_to_another_delivery_skips_the_job(context, add_jobs, row, settings):
    (job_id,) = add_jobs(1)
    _claim(settings, job_id, "fitq-1@box", pid=_dead_pid())
    engine = make_engine(settings.database)
    raced = []

    @event.listens_for(engine, "after_cursor_execute")
    def another_delivery(conn, cursor, statement, parameters, context, executemany):
        # Between this delivery's read of the job and its takeover, another delivery takes it over.
        if not raced and statement.lstrip().upper().startswith("SELECT") and "FROM jobs" in statement:
            raced.append(statement)
            conn.exec_driver_sql("UPDATE jobs SET attempts = attempts + 1, worker_pid = 1 WHERE id = ?",
                                 (job_id,))

    try:
        with make_sessionmaker(engine)() as session:
            taken = claims.claim(session, context(), job_id, WORKER)
    finally:
        engine.dispose()
    assert raced and taken == ([], "was recovered by another delivery; skipped")
    assert (row(job_id).worker, row(job_id).worker_pid, row(job_id).attempts) == ("fitq-1@box", 1, 2)


def test_a_job_whose_process_died_here_on_every_attempt_fails_without_running(context, add_jobs, row,
                                                                             settings, messages):
    ctx = context(max_attempts=3)
    (job_id,) = add_jobs(1)
    _claim(settings, job_id, "fitq-1@box", pid=_dead_pid(), attempts=3)

    assert run_message(ctx, job_id, worker=WORKER) == "failed: its worker process died on all 3 attempts"

    job = row(job_id)
    assert (job.status, job.attempts, job.result) == ("failed", 3, None)
    assert job.error["type"] == "worker_lost" and "each of 3 attempts (last fitq-1@box" in job.error["message"]
    assert messages() == {}


def test_a_process_that_exited_is_not_alive_even_before_it_is_reaped():
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # exited, left unreaped: a zombie
    assert not claims.alive(zombie.pid)
    zombie.wait()
    assert not claims.alive(zombie.pid) and claims.alive(os.getpid())


def test_a_process_whose_entry_cannot_be_read_is_taken_for_alive(tmp_path):
    # Unreadable is not gone: calling it dead would run its job twice; the sweeper's stale heartbeat
    # check still ends a job whose worker really died. Here the entry is a folder (EISDIR).
    (tmp_path / "4242" / "stat").mkdir(parents=True)
    assert claims.alive(4242, proc=str(tmp_path))
    assert not claims.alive(4243, proc=str(tmp_path))  # no entry at all: gone


def test_a_running_process_whose_name_holds_a_parenthesis_is_alive(tmp_path):
    # /proc/<pid>/stat shows the name in parentheses, unescaped: the state follows the LAST ")".
    program = tmp_path / "a) Z b"
    shutil.copy("/bin/sleep", program)
    named = subprocess.Popen([str(program), "30"])
    try:
        assert claims.alive(named.pid)
    finally:
        named.kill()
        named.wait()


def _claimed_by(ctx, settings, job_id, also=()):
    engine = make_engine(settings.database)
    try:
        with make_sessionmaker(engine)() as session:
            claimed, why = claims.claim(session, ctx, job_id, WORKER, also)
            return [job.id for job in claimed], why
    finally:
        engine.dispose()


def test_every_job_a_delivery_claims_shows_this_worker_and_its_process(context, add_jobs, row, settings):
    # The job page shows the worker; the pid is how a redelivery tells that the job's process died.
    named, mate, *waiting = add_jobs(5)
    claimed, why = _claimed_by(context(batch_size=4), settings, named, [mate])
    assert why is None and claimed[:2] == [named, mate] and len(claimed) == 4
    for job_id in claimed:
        assert (row(job_id).status, row(job_id).worker, row(job_id).worker_pid) == ("running", WORKER, os.getpid())
    assert sorted(row(j).status for j in waiting) == ["queued", "running", "running"]


def test_a_delivery_fills_its_batch_to_batch_size_and_no_further(context, add_jobs, row, settings):
    first, *rest = add_jobs(4)
    claimed, _ = _claimed_by(context(batch_size=2), settings, first)
    assert len(claimed) == 2 and claimed[0] == first
    assert sum(row(j).status == "queued" for j in rest) == 2


def test_a_job_taken_over_shows_the_new_process(context, add_jobs, row, settings):
    (job_id,) = add_jobs(1)
    _claim(settings, job_id, "fitq-1@box", pid=_dead_pid())
    assert _claimed_by(context(), settings, job_id) == ([job_id], None)
    assert (row(job_id).attempts, row(job_id).worker, row(job_id).worker_pid) == (2, WORKER, os.getpid())


def test_a_finished_job_redelivered_after_its_process_exited_is_left_as_it_is(context, add_jobs, row, settings):
    (job_id,) = add_jobs(1)
    _claim(settings, job_id, "fitq-1@box", pid=_dead_pid())
    engine = make_engine(settings.database)
    with make_sessionmaker(engine)() as session:
        assert jobs.finish(session=session, job_id=job_id, attempt=1, status="succeeded", result={"final_loss": 1.0})
    engine.dispose()
    assert _claimed_by(context(), settings, job_id) == ([], "is succeeded, not queued; duplicate delivery skipped")
    assert (row(job_id).status, row(job_id).attempts) == ("succeeded", 1)


def test_only_an_exited_process_of_this_host_counts_as_died_here():
    dead = _dead_pid()
    here, there = "fitq@2@box", "fitq@1@other"  # node names may hold an @; the host follows the last one
    assert claims.died_here(Job(worker="fitq@1@box", worker_pid=dead), here)
    assert not claims.died_here(Job(worker=there, worker_pid=dead), here)  # elsewhere: the sweeper decides
    assert not claims.died_here(Job(worker="fitq@1@box", worker_pid=os.getppid()), here)  # still alive
    assert not claims.died_here(Job(worker="fitq@1@box", worker_pid=os.getpid()), here)  # this very process
    assert not claims.died_here(Job(worker=None, worker_pid=None), here)


def test_jobs_running_elsewhere_take_no_place_in_a_batch(context, add_jobs, row, settings):
    *elsewhere, first, second, third = add_jobs(5)
    for job_id in elsewhere:  # the oldest of this shape, already running on another worker
        _claim(settings, job_id, "fitq-1@elsewhere", pid=1)
    claimed, _ = _claimed_by(context(batch_size=3), settings, third)
    assert claimed == [third, first, second]  # the batch is full, the oldest waiting jobs first
    assert [row(j).worker for j in elsewhere] == ["fitq-1@elsewhere"] * 2


def test_older_jobs_of_other_variants_do_not_crowd_a_batch_out(context, add_jobs, row, settings):
    add_jobs(4, variant="autograd")  # waiting longer, but they cannot share a tensor pass
    first, second = add_jobs(2)
    claimed, _ = _claimed_by(context(batch_size=2), settings, second)
    assert claimed == [second, first]
