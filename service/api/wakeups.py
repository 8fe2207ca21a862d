"""One Redis pub/sub connection per API process, subscribed to every stream channel, that wakes the
streams listening on a channel. Under gevent (the API's default worker class) its thread is a greenlet."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import redis

from service.events import PATTERN, job_channel, sweep_channel

log = logging.getLogger(__name__)


class Listener:
    """What one stream listens on; `event` is set when any of its channels had a message."""

    def __init__(self, channels: Iterable[str]) -> None:
        self.channels, self.event = tuple(channels), threading.Event()


class Hub:
    """The process's subscription, started by the first stream that listens."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._listeners: dict[str, set[Listener]] = {}
        # Messages seen per listened channel, and reconnections: a read made before the last of them
        # may have missed a write (see Snapshots).
        self._seen: dict[str, int] = {}
        self._epoch = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def listen(self, channels: Iterable[str]) -> Listener:
        """Start listening on `channels` (before the stream reads the database, so nothing slips by)."""
        listener = Listener(channels)
        with self._lock:
            for channel in listener.channels:
                self._listeners.setdefault(channel, set()).add(listener)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stream-wakeups", daemon=True)
                self._thread.start()
        return listener

    def forget(self, listener: Listener) -> list[str]:
        """Stop listening (the stream ended); returns the channels nobody listens on any more."""
        emptied = []
        with self._lock:
            for channel in listener.channels:
                waiting = self._listeners.get(channel)
                if waiting is not None:
                    waiting.discard(listener)
                    if not waiting:
                        del self._listeners[channel]
                        self._seen.pop(channel, None)
                        emptied.append(channel)
        return emptied

    def generation(self, channel: str) -> tuple[int, int]:
        """Changes whenever a message for `channel` arrives (or the subscription was lost and back)."""
        with self._lock:
            return self._epoch, self._seen.get(channel, 0)

    def _wake(self, channel: str | None) -> None:
        with self._lock:
            if channel is None:
                self._epoch += 1
            elif channel in self._listeners:
                self._seen[channel] = self._seen.get(channel, 0) + 1
            woken = [lis for ch, group in self._listeners.items() if channel in (None, ch) for lis in group]
        for listener in woken:
            listener.event.set()

    def _run(self) -> None:
        failing = False
        while True:
            try:
                client = redis.Redis.from_url(self.url, socket_connect_timeout=5, health_check_interval=30)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(PATTERN)
                if failing:
                    log.info("stream wake-ups back")
                    self._wake(None)  # messages were missed meanwhile: every stream reads again
                failing = False
                for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        channel = message["channel"]
                        self._wake(channel.decode() if isinstance(channel, bytes) else channel)
            except (redis.RedisError, OSError) as err:
                # Streams still read the database every STREAM_POLL_S: late, never wrong.
                if not failing:
                    log.warning("stream wake-ups lost: %s; retrying", type(err).__name__)
                failing = True
                time.sleep(1)


def wake(client, job) -> None:
    """Nudge the streams of a job the API changed (a cancel); best effort, like the worker's."""
    try:
        client.publish(job_channel(job.id), "status")
        if job.sweep_id:
            client.publish(sweep_channel(job.sweep_id), "status")
    except redis.RedisError as err:  # its streams see the change at their next poll
        log.warning("stream wake-up for job %s not published: %s", job.id, type(err).__name__)
