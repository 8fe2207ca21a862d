"""Wake-ups for streams: after the worker writes a job's progress or status, a small message on the
job's (and its sweep's) Redis channel. Best effort: a stream missing one re-reads the database anyway."""
from __future__ import annotations

import logging
from collections.abc import Iterable

import redis

from service.events import job_channel, sweep_channel

log = logging.getLogger(__name__)


class Publisher:
    """Publishes wake-ups on one Redis connection, made on first use; never raises."""

    def __init__(self, url: str) -> None:
        self.url, self._failing = url, False
        self._client: redis.Redis | None = None

    def wake(self, job_ids: Iterable[str], sweep_ids: Iterable[str | None] = (), kind: str = "progress") -> None:
        """Nudge the streams of these jobs and sweeps."""
        channels = [job_channel(i) for i in job_ids] + [sweep_channel(s) for s in set(sweep_ids) if s]
        if not channels:
            return
        try:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            with self._client.pipeline(transaction=False) as pipe:
                for channel in channels:
                    pipe.publish(channel, kind)
                pipe.execute()
            self._failing = False
        except redis.RedisError as err:
            # Streams fall back to reading the database every second: nothing is lost, only late.
            if not self._failing:
                log.warning("stream wake-ups not published: %s", type(err).__name__)
            self._failing = True
