"""The claim's compare-and-set writes a user's job goes through, read back as the API would show it:
what cancel, give_back, resent, abandon and finish leave in the row, and that a stale attempt changes
nothing. Written for the survivors of mutation testing (docs/testing.md)."""
from datetime import timedelta

import pytest

from service.store import jobs
from service.store.db import make_engine, make_sessionmaker
from service.store.models import JobStatus


@pytest.fixture
def sessions(settings):
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _queued(sessions):
    with sessions() as session:
        job, _ = jobs.create(session=session, variant="lstsq", params={"samples": 10, "device": "cpu"})
        return job.id


def _running(sessions, worker="fitq-1@here"):
    job_id = _queued(sessions)
    with sessions() as session:
        job = jobs.claim(session=session, job_id=job_id, worker=worker, pid=123)
        return job_id, job.attempts


def _row(sessions, job_id):
    with sessions() as session:
        return jobs.get(session=session, job_id=job_id)


def _recent(stamp):
    return stamp is not None and abs(jobs.now() - stamp.replace(tzinfo=jobs.now().tzinfo)) < timedelta(minutes=1)


@pytest.mark.parametrize("state", ["queued", "running"])
def test_cancel_answers_the_cancelled_job_with_its_end_time(sessions, state):
    job_id = _queued(sessions) if state == "queued" else _running(sessions)[0]
    with sessions() as session:
        jobs.get(session=session, job_id=job_id)  # loaded in this session before the write
        job, changed = jobs.cancel(session=session, job_id=job_id)
        assert changed is True
        assert job.id == job_id and job.status == JobStatus.CANCELLED.value
        assert _recent(job.finished_at)
    assert _row(sessions, job_id).status == JobStatus.CANCELLED.value


def test_cancel_of_a_finished_job_changes_nothing(sessions):
    job_id, attempt = _running(sessions)
    with sessions() as session:
        assert jobs.finish(session=session, job_id=job_id, attempt=attempt, status="succeeded",
                           result={"final_loss": 1.5, "duration_s": 2.0})
        job, changed = jobs.cancel(session=session, job_id=job_id)
        assert changed is False and job.status == JobStatus.SUCCEEDED.value
    # The listing's columns and its order by loss read these, not the result document.
    job = _row(sessions, job_id)
    assert (job.final_loss, job.duration_s, job.progress_step) == (1.5, 2.0, job.progress_steps)


def test_a_job_given_back_is_queued_afresh_and_sent_now(sessions):
    job_id, attempt = _running(sessions)
    with sessions() as session:
        assert jobs.beat(session=session, claims={job_id: attempt}, step=40) == {job_id}
        job = jobs.get(session=session, job_id=job_id)
        job.enqueued_at = jobs.now() - timedelta(hours=1)  # sent long ago: the sweeper would send it again
        session.commit()
        assert jobs.give_back(session=session, job_id=job_id, attempt=attempt) is True
        assert jobs.give_back(session=session, job_id=job_id, attempt=attempt) is False
    job = _row(sessions, job_id)
    assert job.status == JobStatus.QUEUED.value and job.attempts == attempt
    assert job.worker is None and job.worker_pid is None and job.heartbeat_at is None
    assert job.progress_step == 0 and _recent(job.enqueued_at)


def test_a_stale_attempt_can_neither_give_back_nor_abandon_nor_finish(sessions):
    job_id, attempt = _running(sessions)
    with sessions() as session:
        assert jobs.give_back(session=session, job_id=job_id, attempt=attempt + 1) is False
        assert jobs.abandon(session=session, job_id=job_id, attempt=attempt - 1, message="x") is False
        assert jobs.finish(session=session, job_id=job_id, attempt=attempt + 1, status="failed") is False
    job = _row(sessions, job_id)
    assert job.status == JobStatus.RUNNING.value and job.worker == "fitq-1@here" and job.error is None


def test_resent_marks_a_queued_job_sent_now_only_at_its_attempt(sessions):
    job_id, other_id = _queued(sessions), _queued(sessions)
    with sessions() as session:
        for job in (jobs.get(session=session, job_id=job_id), jobs.get(session=session, job_id=other_id)):
            job.enqueued_at = jobs.now() - timedelta(hours=1)
        session.commit()
        assert jobs.resent(session=session, job_id=job_id, attempt=1) is False
        assert not _recent(_row(sessions, job_id).enqueued_at)
        assert jobs.resent(session=session, job_id=job_id, attempt=0) is True
    assert _recent(_row(sessions, job_id).enqueued_at)
    assert not _recent(_row(sessions, other_id).enqueued_at)  # only the job named
    with sessions() as session:
        jobs.claim(session=session, job_id=job_id, worker="w@h")
        assert jobs.resent(session=session, job_id=job_id, attempt=1) is False


def test_an_abandoned_job_fails_with_the_message_the_user_reads(sessions):
    job_id, attempt = _running(sessions)
    message = jobs.lost_message(attempt, "fitq-1@here")
    with sessions() as session:
        assert jobs.abandon(session=session, job_id=job_id, attempt=attempt, message=message) is True
    job = _row(sessions, job_id)
    assert job.status == JobStatus.FAILED.value and _recent(job.finished_at)
    assert job.error == {"type": "worker_lost", "message": message}


def test_a_failed_outcome_keeps_its_error_step_and_device(sessions):
    job_id, attempt = _running(sessions)
    error = {"type": "diverged", "message": "loss is nan"}
    with sessions() as session:
        assert jobs.finish(session=session, job_id=job_id, attempt=attempt, status="failed", error=error,
                           device="cpu", step=7) is True
    job = _row(sessions, job_id)
    assert job.status == JobStatus.FAILED.value and job.error == error and job.result is None
    assert job.progress_step == 7 and job.device == "cpu" and _recent(job.finished_at)


def test_heartbeats_write_progress_and_device_and_answer_the_claims_that_hold(sessions):
    job_id, attempt = _running(sessions)
    other_id, other_attempt = _running(sessions)
    with sessions() as session:
        job = jobs.get(session=session, job_id=job_id)
        job.heartbeat_at = jobs.now() - timedelta(hours=1)
        session.commit()
        jobs.cancel(session=session, job_id=other_id)
        held = jobs.beat(session=session, claims={job_id: attempt, other_id: other_attempt}, step=300,
                         device="cpu")
        assert held == {job_id}
        assert jobs.beat(session=session, claims={job_id: attempt + 1}) == set()
    job = _row(sessions, job_id)
    assert job.progress_step == 300 and job.device == "cpu" and _recent(job.heartbeat_at)
    with sessions() as session:
        assert jobs.beat(session=session, claims={job_id: attempt}) == {job_id}
    job = _row(sessions, job_id)
    assert job.progress_step == 300 and job.device == "cpu"  # a bare heartbeat keeps both


def test_a_claim_stamps_the_start_and_a_takeover_starts_progress_afresh(sessions):
    job_id, attempt = _running(sessions)
    job = _row(sessions, job_id)
    assert _recent(job.started_at) and job.started_at == job.heartbeat_at and job.worker_pid == 123
    with sessions() as session:
        jobs.beat(session=session, claims={job_id: attempt}, step=40)
        loaded = jobs.get(session=session, job_id=job_id)  # in this session when the takeover returns it
        taken = jobs.claim(session=session, job_id=job_id, worker="fitq-2@here", pid=456, takeover=attempt)
        assert taken is loaded and (taken.attempts, taken.worker, taken.worker_pid) == (2, "fitq-2@here", 456)
        assert taken.progress_step == 0
    assert _row(sessions, job_id).progress_step == 0  # the new attempt's progress, not the lost one's
