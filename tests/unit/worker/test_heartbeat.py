"""The heartbeat thread on a real SQLite file: the progress a user watches, and a cancelled or taken-over
job noticed so its fit stops. Written for the survivors of mutation testing (docs/testing.md)."""
import time

from sqlalchemy.exc import OperationalError

from service.events import PATTERN, job_channel, sweep_channel
from service.store import jobs, points
from worker import presence
from worker.events import Publisher
from worker.heartbeat import TICK_S, Heartbeat
from worker.presence import Presence
from worker.store import Store


def _until(check, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.02)


def _claimed(settings, ids):
    store = Store(settings.database_url)
    with store.session() as session:
        return store, {i: jobs.claim(session=session, job_id=i, worker="w@here", pid=1).attempts for i in ids}


def test_progress_and_the_device_are_written_while_the_job_runs(settings, add_jobs, row):
    (job_id,) = add_jobs(1)
    store, claims = _claimed(settings, [job_id])
    with Heartbeat(store, claims, interval_s=60, device="cpu") as beat:
        beat.step = 40
        _until(lambda: row(job_id).progress_step == 40)
        assert row(job_id).device == "cpu"
        first = row(job_id).heartbeat_at
        beat.step = 80
        _until(lambda: row(job_id).progress_step == 80)
        assert row(job_id).heartbeat_at > first
        assert not beat.lost and not beat.all_lost.is_set()


def test_without_news_nothing_is_written_until_the_interval_is_up(settings, add_jobs, row):
    # One write per interval, not one per tick: a thousand running jobs must not hammer the database.
    (job_id,) = add_jobs(1)
    store, claims = _claimed(settings, [job_id])
    with Heartbeat(store, claims, interval_s=60) as beat:
        beat.step = 40
        _until(lambda: row(job_id).progress_step == 40)
        written = row(job_id).heartbeat_at
        time.sleep(4 * TICK_S)  # several ticks with the same step, well within the interval
        assert row(job_id).heartbeat_at == written


def test_progress_after_a_quiet_spell_is_still_written(settings, add_jobs, row):
    (job_id,) = add_jobs(1)
    store, claims = _claimed(settings, [job_id])
    with Heartbeat(store, claims, interval_s=60) as beat:
        time.sleep(1.2)  # ticks with nothing to write (the first history point takes a while)
        beat.step = 40
        _until(lambda: row(job_id).progress_step == 40)


def test_without_progress_a_heartbeat_still_comes_every_interval(settings, add_jobs, row):
    (job_id,) = add_jobs(1)
    store, claims = _claimed(settings, [job_id])
    first = row(job_id).heartbeat_at
    with Heartbeat(store, claims, interval_s=0.2):
        _until(lambda: row(job_id).heartbeat_at > first)
        second = row(job_id).heartbeat_at
        _until(lambda: row(job_id).heartbeat_at > second)
    assert row(job_id).progress_step == 0


def test_a_cancelled_job_is_noticed_and_the_run_stops_when_every_job_is_lost(settings, add_jobs, row):
    kept, cancelled = add_jobs(2)
    store, claims = _claimed(settings, [kept, cancelled])
    with Heartbeat(store, claims, interval_s=0.1) as beat:
        with store.session() as session:
            jobs.cancel(session=session, job_id=cancelled)
        _until(lambda: beat.lost == {cancelled})
        assert not beat.all_lost.is_set()
        beat.step = 20
        _until(lambda: row(kept).progress_step == 20)
        assert row(cancelled).progress_step == 0  # a lost claim's row is not written any more
        assert beat.lost == {cancelled}  # still known as lost after a later beat
        with store.session() as session:
            jobs.cancel(session=session, job_id=kept)
        assert beat.all_lost.wait(10)
        assert beat.lost == {kept, cancelled}


def test_the_workers_report_lists_the_jobs_while_they_run(settings, add_jobs, redis_db, monkeypatch):
    # `fitq workers` and the dashboard show what each worker runs from this report.
    jobs_ids = add_jobs(2)
    store, claims = _claimed(settings, jobs_ids)
    report = Presence(client=redis_db, name="fitq-9@box", queues=["fitq"], pool="solo", interval_s=60, ttl_s=30,
                      device="cpu").start()
    monkeypatch.setattr(presence, "current", report)
    try:
        with Heartbeat(store, claims, interval_s=60):
            assert report.document()["jobs"] == jobs_ids
        assert report.document()["jobs"] == []
    finally:
        report.stop()


class Outage:
    """The worker's store with a database that can be taken away and given back. A SQLite file cannot
    go away under an open connection, so the outage is raised here, where the store opens a session."""

    def __init__(self, store):
        self.store, self.down = store, False

    def session(self):
        if self.down:
            raise OperationalError("BEGIN", {}, ConnectionRefusedError("database is down"))
        return self.store.session()


def test_a_database_outage_pauses_the_heartbeat_and_it_resumes_when_the_database_is_back(
        settings, add_jobs, row, caplog):
    (job_id,) = add_jobs(1)
    store, claims = _claimed(settings, [job_id])
    outage = Outage(store)
    with Heartbeat(outage, claims, interval_s=0.2) as beat:
        beat.step = 40
        _until(lambda: row(job_id).progress_step == 40)
        outage.down = True
        beat.step = 80
        time.sleep(1.5)  # several beats fail meanwhile; the fit is neither stopped nor told it lost its job
        assert row(job_id).progress_step == 40
        assert not beat.lost and not beat.all_lost.is_set()
        outage.down = False
        _until(lambda: row(job_id).progress_step == 80)  # the same thread writes again
        assert not beat.lost
    warnings = [r.getMessage() for r in caplog.records if "heartbeat of" in r.getMessage()]
    # Once, naming the job and what went wrong, so an operator can tell which fits went unrecorded.
    assert warnings == [f"heartbeat of {job_id} not written: OperationalError"], "logged once, not every beat"


def test_a_database_down_from_the_first_beat_is_logged_too(settings, add_jobs, row, caplog):
    ids = add_jobs(2)
    store, claims = _claimed(settings, ids)
    outage = Outage(store)
    outage.down = True
    with Heartbeat(outage, claims, interval_s=0.2) as beat:
        beat.step = 40
        _until(lambda: any("heartbeat of" in r.getMessage() for r in caplog.records))
        outage.down = False
        _until(lambda: row(ids[1]).progress_step == 40)
    warnings = [r.getMessage() for r in caplog.records if "heartbeat of" in r.getMessage()]
    assert warnings == [f"heartbeat of {ids[0]}, {ids[1]} not written: OperationalError"]


def _points(store, job_id):
    with store.session() as session:
        return points.after(session=session, job_id=job_id, step=-1)


def test_every_history_point_of_a_batch_is_stored_once_and_its_streams_are_woken(settings, add_jobs, redis_db):
    first, second = add_jobs(2)
    store, claims = _claimed(settings, [first, second])
    sweeps = {first: "a" * 32, second: None}
    wakeups = redis_db.pubsub(ignore_subscribe_messages=True)
    wakeups.psubscribe(PATTERN)
    publisher = Publisher(settings.redis_url)
    with Heartbeat(store, claims, interval_s=60, publisher=publisher, sweeps=sweeps) as beat:
        beat.record(20, [3.0, 4.0])
        beat.record(40, [2.0, float("nan")])  # several points between two beats all arrive
        _until(lambda: len(_points(store, second)) == 2)
        beat.record(60, [1.0, 0.5])
        _until(lambda: len(_points(store, second)) == 3)
    # Named as the result's history names them (the step's index), a loss that is not finite as None.
    assert _points(store, first) == [(19, 3.0), (39, 2.0), (59, 1.0)]
    assert _points(store, second) == [(19, 4.0), (39, None), (59, 0.5)]
    channels, deadline = set(), time.monotonic() + 5
    while len(channels) < 3 and time.monotonic() < deadline:  # None also for the subscription's answer
        if (message := wakeups.get_message(timeout=0.2)) is not None:
            channels.add(message["channel"].decode())
    assert channels == {job_channel(first), job_channel(second), sweep_channel("a" * 32)}


def test_points_missed_in_an_outage_are_written_when_the_database_is_back(settings, add_jobs):
    (job_id,) = add_jobs(1)
    store, claims = _claimed(settings, [job_id])
    outage = Outage(store)
    with Heartbeat(outage, claims, interval_s=0.2) as beat:
        outage.down = True
        beat.record(20, [3.0])
        time.sleep(0.8)
        beat.record(40, [2.0])
        outage.down = False
        _until(lambda: len(_points(store, job_id)) == 2)
    assert _points(store, job_id) == [(19, 3.0), (39, 2.0)]
