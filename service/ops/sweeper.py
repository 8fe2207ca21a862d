"""The sweeper: sends again a queued job whose message is not in Redis, gives a running job whose
heartbeat went stale back to the queue (or fails it after MAX_ATTEMPTS), and drives random and tpe
sweeps (service/ops/search.py). Safe to run several."""
import json
import logging
import signal
import threading
import time
from datetime import timedelta

import redis

from service import logs
from service.queue import PRIORITY_SUFFIXES, enqueue, job_ids, make_celery
from service.settings import KNOWN_QUEUES
from service.store import jobs
from service.store.db import UNAVAILABLE, make_engine, make_sessionmaker, shown

log = logging.getLogger("fitq.sweeper")
LOCK = "fitq:sweeper:lock"
# Between passes the open searches are looked at this often: a search waits this long, not a whole
# SWEEP_INTERVAL_S, to ask its next batch once the last has finished (a few indexed reads when none is open).
SEARCH_POLL_S = 0.5


class Sweeper:
    """One sweeper's connections and its memory of when the database last came back."""

    def __init__(self, settings, sessions, celery, broker):
        self.settings, self.sessions, self.celery, self.broker = settings, sessions, celery, broker
        self.database_back_at = time.monotonic()  # heartbeats written during an outage were lost
        self.database_down = False
        self.search_missing = False

    def sweep(self) -> dict:
        """One pass; returns what it did. Passes of several sweepers never overlap (a lock in Redis)."""
        # The lock outlives a pass that resends thousands of jobs; a sweeper that dies frees it in a minute.
        lock = self.broker.lock(LOCK, timeout=max(60.0, 10 * self.settings.sweep_interval_s),
                                blocking=False)
        if not lock.acquire():
            return {"skipped": 1}
        try:
            with self.sessions() as session:
                done = {"requeued": 0, "failed": 0, "resent": 0}
                if self.database_down:  # it answers again: give heartbeats time to resume
                    log.info("sweeper: database reachable again")
                    self.database_back_at, self.database_down = time.monotonic(), False
                # Until heartbeats have had time to resume after an outage, silence proves nothing.
                if time.monotonic() - self.database_back_at >= self.settings.stale_after_s:
                    self._stale(session, done)
                self._missing(session, done)
                self._search(session, done)
        except UNAVAILABLE:
            self.database_down = True
            raise
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # it expired during a long pass; the next pass takes it again
        return done

    def _stale(self, session, done):
        cutoff = jobs.now() - timedelta(seconds=self.settings.stale_after_s)
        for job in jobs.stale_running(session=session, before=cutoff):
            if job.attempts >= self.settings.max_attempts:
                if jobs.abandon(session=session, job_id=job.id, attempt=job.attempts,
                                message=jobs.lost_message(job.attempts, job.worker)):
                    log.warning("job %s failed: worker %s lost on attempt %d of %d", job.id, job.worker,
                                job.attempts, self.settings.max_attempts, extra={"job_id": job.id})
                    done["failed"] += 1
                continue
            silent = (job.worker, job.heartbeat_at, job.attempts)  # give_back clears them
            if jobs.give_back(session=session, job_id=job.id, attempt=job.attempts):
                # The compare-and-set makes this sweeper the only one to send it.
                log.warning("job %s queued again: no heartbeat from %s since %s (attempt %d of %d)",
                            job.id, *silent, self.settings.max_attempts, extra={"job_id": job.id})
                enqueue(self.celery, job)
                done["requeued"] += 1

    def _missing(self, session, done):
        cutoff = jobs.now() - timedelta(seconds=self.settings.redeliver_after_s)
        waiting = jobs.waiting_since(session=session, before=cutoff)
        if not waiting:
            return
        present = self.messages()
        for job in waiting:
            sent_at = job.enqueued_at  # resent() moves it
            if job.id not in present and jobs.resent(session=session, job_id=job.id, attempt=job.attempts):
                log.warning("job %s sent again: queued since %s and its message is not in Redis "
                            "(or sits with a consumer that died)", job.id, sent_at, extra={"job_id": job.id})
                enqueue(self.celery, job)
                done["resent"] += 1

    def _search(self, session, done):
        # Optuna is in the `search` extra: a sweeper without it drives no random or tpe sweep, and says so.
        try:
            from service.ops import search
        except ImportError as err:
            if not self.search_missing:
                log.warning("sweeper: random and tpe sweeps wait: %s (pip install 'fitq[search]')", err)
                self.search_missing = True
            return
        done.update(search.drive(session, self.celery, self.settings))

    def searches_only(self) -> dict:
        """Drive the open searches alone, between passes (their DB lease keeps drivers apart)."""
        done: dict = {}
        with self.sessions() as session:
            self._search(session, done)
        return done

    def messages(self) -> set:
        """Ids of the jobs with a live message in Redis: waiting in a queue, or delivered less than
        REDELIVER_AFTER_S ago and not acked yet."""
        raw = []
        for queue in KNOWN_QUEUES:
            for suffix in PRIORITY_SUFFIXES:
                raw += self.broker.lrange(queue + suffix, 0, -1)
        # A live worker claims a job within milliseconds of taking its message. A delivery older than
        # that whose job is still queued sits with a consumer that died, and Redis would hand it back
        # only after VISIBILITY_TIMEOUT_S: it does not count. kombu scores each tag by delivery time.
        fresh = self.broker.zrangebyscore("unacked_index", time.time() - self.settings.redeliver_after_s,
                                          "+inf")
        if fresh:
            raw += [json.loads(v)[0] for v in self.broker.hmget("unacked", fresh) if v]
        return {job_id for message in raw for job_id in job_ids(message)}


def run(settings) -> int:
    """Sweep every SWEEP_INTERVAL_S until SIGTERM or SIGINT; errors are logged, never fatal."""
    logs.configure(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    engine = make_engine(settings.database)
    broker = redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
    sweeper = Sweeper(settings, make_sessionmaker(engine), make_celery(settings), broker)
    log.info("sweeper: every %gs on %s and %s; stale after %gs, at most %d attempts", settings.sweep_interval_s,
             shown(settings.database), shown(settings.redis_url), settings.stale_after_s,
             settings.max_attempts)
    while not stop.is_set():
        was_down = sweeper.database_down
        try:
            done = sweeper.sweep()
            if any(done.get(k) for k in ("requeued", "failed", "resent", "asked", "ended")):
                log.info("sweeper: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
        except redis.RedisError as err:
            log.warning("sweeper: Redis unreachable (%s); next pass in %gs", type(err).__name__,
                        settings.sweep_interval_s)
        except UNAVAILABLE as err:
            if not was_down:
                log.warning("sweeper: database unreachable (%s); retrying every %gs", type(err).__name__,
                            settings.sweep_interval_s)
        except Exception:  # a bug must not stop recovery for good: log it, try again next pass
            log.exception("sweeper: pass failed")
        until = time.monotonic() + settings.sweep_interval_s
        while not stop.wait(max(0.0, min(SEARCH_POLL_S, until - time.monotonic()))) and time.monotonic() < until:
            try:
                done = sweeper.searches_only()
                if any(done.values()):
                    log.info("sweeper: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
            except Exception:  # the next pass tries again, and says what is wrong
                log.debug("sweeper: searches between passes failed", exc_info=True)
    engine.dispose()
    log.info("sweeper: stopped")
    return 0
