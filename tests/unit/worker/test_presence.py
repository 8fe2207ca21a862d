"""A worker process's report in Redis: written at start, its jobs shown as they start and end, gone when
it stops or falls silent."""
import time

import pytest

from service import roster as workers
from worker import shutdown
from worker.presence import Presence

NAME = "fitq-9@box"
JOB = "0" * 32


def _until(check, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)


@pytest.fixture
def report(redis_db):
    """report(**overrides): a started Presence on the private Redis (60 s between refreshes)."""
    made = []

    def start(**overrides):
        args = {"client": redis_db, "name": NAME, "queues": ["fitq", "gpu"], "pool": "solo", "interval_s": 60,
                "ttl_s": 30, "device": "cuda", "gpu": "NVIDIA H100 80GB HBM3", **overrides}
        made.append(Presence(**args).start())
        return made[-1]

    yield start
    for presence in made:
        presence.stop()


def test_a_worker_is_listed_as_soon_as_it_starts_with_what_it_serves(report, redis_db):
    presence = report()
    (shown,) = workers.live(redis_db)
    assert (shown["name"], shown["device"], shown["gpu"], shown["queues"]) == \
        (NAME, "cuda", "NVIDIA H100 80GB HBM3", ["fitq", "gpu"])
    assert shown["jobs"] == [] and shown["stopping"] is False and shown["heartbeat_at"].endswith("Z")
    assert 29 <= redis_db.pttl(presence.key) / 1000 <= 30  # gone STALE_AFTER_S after the last refresh


def test_its_jobs_show_at_once_when_they_start_and_go_when_they_end(report, redis_db):
    presence = report()
    presence.running({JOB: 1})
    # The refresh interval is 60 s: a start is written straight away, not at the next beat.
    _until(lambda: workers.live(redis_db)[0]["jobs"] == [JOB])
    presence.finished({JOB: 1})
    _until(lambda: workers.live(redis_db)[0]["jobs"] == [])


def test_a_clean_stop_removes_it_and_a_silent_worker_drops_out_on_its_own(report, redis_db):
    report().stop()
    assert workers.live(redis_db) == []
    # Never refreshed within its time to live, like a worker that was killed. The lifetime is what the
    # test waits for: long enough that a loaded machine still lists it on the next line.
    ttl_s = 2.0
    report(ttl_s=ttl_s)
    assert len(workers.live(redis_db)) == 1
    _until(lambda: workers.live(redis_db) == [], timeout=ttl_s + 5)


def test_a_stopping_worker_does_not_count_as_serving_its_queues(report, redis_db):
    presence = report()
    assert workers.consumed(workers.live(redis_db)) == {"fitq", "gpu"}
    shutdown.request()  # what SIGTERM does
    try:
        presence.write()
    finally:
        shutdown.clear()
    assert workers.live(redis_db)[0]["stopping"] is True
    assert workers.consumed(workers.live(redis_db)) == set()
