"""`fitq deliver`: POSTs each due webhook (a job's or a sweep's end) to its callback_url, signed, and
retries with exponential backoff until WEBHOOK_RETRY_FOR_S has passed. Its state is in the database, so a
restart loses nothing; deliveries are claimed with a compare-and-set, so several deliverers never send
one at once."""
import http.client
import json
import logging
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from service import logs
from service.api.document import job_document, sweep_document
from service.clock import now
from service.store import deliveries, jobs, sweeps
from service.store.db import UNAVAILABLE, make_engine, make_sessionmaker, shown
from service.webhooks import address, signature

log = logging.getLogger("fitq.deliverer")
MAX_BACKOFF_S = 3600.0
READ_BYTES = 800  # of an answer's body: its excerpt is 200 characters, the rest is not ours to read
USER_AGENT = "fitq-webhooks/1"
SENDERS = 4  # attempts one deliverer makes at once
ATTEMPT_TIMEOUTS = 2  # one attempt's whole time, in WEBHOOK_TIMEOUT_S


class Deliverer:
    """One deliverer's settings, its sessions, and how it resolves names (the system's DNS)."""

    def __init__(self, settings, sessions, resolver=address.resolve):
        self.settings, self.sessions, self.resolver = settings, sessions, resolver
        # A claim outlasts an attempt (connecting: one timeout; the rest: ATTEMPT_TIMEOUTS in all), so no
        # other deliverer takes a delivery that is still being sent.
        self.lease_s = (ATTEMPT_TIMEOUTS + 1) * settings.webhook_timeout_s + 30

    def deliver_due(self) -> int:
        """Claim one due delivery and attempt it; returns how many were attempted (0 or 1). One at a time,
        so a claim's lease covers just its own attempt."""
        with self.sessions() as session:
            claimed = deliveries.claim_due(session=session, lease_s=self.lease_s, limit=1)
        for delivery in claimed:
            self.attempt(delivery)
        return len(claimed)

    def attempt(self, delivery) -> None:
        """Send one delivery once and record what came of it."""
        payload = delivery.payload or self._render(delivery)
        body = json.dumps(payload, separators=(",", ":")).encode()
        status = excerpt = error = None
        try:
            # Checked again now: the name may resolve elsewhere than at submission (DNS rebinding), and
            # the connection goes to exactly the addresses checked here.
            target = address.check(delivery.url, self.settings.webhook_hosts, self.resolver)
            status, excerpt = post(target, delivery.url, body, self._headers(delivery, body),
                                   self.settings.webhook_timeout_s)
        except address.Refused as err:
            error = f"refused: {err}"
        except (OSError, http.client.HTTPException) as err:  # timeouts, refused connections, TLS, bad answers
            error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        ok = status is not None and 200 <= status < 300
        retry_at = None if ok else self._retry_at(delivery)
        with self.sessions() as session:
            deliveries.record(session=session, delivery_id=delivery.id, status_code=status, error=error,
                              excerpt=excerpt, retry_at=retry_at)
        subject = f"job {delivery.job_id}" if delivery.job_id else f"sweep {delivery.sweep_id}"
        outcome = f"answered {status}" if status is not None else error
        if ok:
            log.info("webhook %d of %s to %s: %s", delivery.id, subject, delivery.url, outcome)
        else:
            log.warning("webhook %d of %s to %s: %s (attempt %d); %s", delivery.id, subject, delivery.url, outcome,
                        delivery.attempts + 1, f"next at {retry_at:%H:%M:%S}" if retry_at else "giving up")

    def _render(self, delivery) -> dict:
        # The document as GET /jobs/<id> (or /sweeps/<id>) shows it at the first attempt; kept, so every
        # retry sends the same body.
        with self.sessions() as session:
            if delivery.job_id:
                payload = job_document(jobs.get(session=session, job_id=delivery.job_id))
            else:
                sweep = sweeps.get(session=session, sweep_id=delivery.sweep_id)
                payload = sweep_document(sweep, sweeps.counts(session=session, sweep_id=sweep.id),
                                         sweeps.best_of(session=session, sweep=sweep))
            deliveries.keep_payload(session=session, delivery_id=delivery.id, payload=payload)
        return payload

    def _headers(self, delivery, body) -> dict:
        return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                # The same id on every retry: a receiver that got it already can tell (at least once).
                "Fitq-Delivery": str(delivery.id),
                "Fitq-Event": "job.ended" if delivery.job_id else "sweep.ended",
                signature.HEADER: signature.sign(self.settings.webhook_secret, body, int(time.time()))}

    def _retry_at(self, delivery) -> datetime | None:
        # Backoff doubles with each attempt; past WEBHOOK_RETRY_FOR_S after the end, it is given up.
        wait = min(self.settings.webhook_backoff_s * 2 ** delivery.attempts, MAX_BACKOFF_S)
        at = now() + timedelta(seconds=wait)
        created = delivery.created_at if delivery.created_at.tzinfo else delivery.created_at.replace(tzinfo=UTC)
        return at if at <= created + timedelta(seconds=self.settings.webhook_retry_for_s) else None


def post(target, url, body, headers, timeout) -> tuple[int, str]:
    """POST `body` to `url` at the checked `target`; (status, the start of the answer). No redirect is
    followed: a 3xx is an answer like any other non-2xx."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    conn = kind(target.host, target.port, timeout=timeout)  # https verifies the host's certificate
    if target.addresses:
        # Connect to the addresses just checked, not to whatever a second lookup would answer; TLS still
        # checks the certificate against the host name.
        conn._create_connection = lambda where, wait, source=None: _connect(target.addresses, where[1], wait)
    # The timeout bounds each socket operation; this bounds the whole attempt (a receiver trickling its
    # answer a byte at a time), so it always ends within its claim's lease.
    fired = threading.Event()
    watchdog = threading.Timer(ATTEMPT_TIMEOUTS * timeout, _cut, args=(conn, fired))
    watchdog.daemon = True
    try:
        conn.connect()  # within one timeout, whatever the number of addresses
        watchdog.start()
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        excerpt = answer.read(READ_BYTES).decode("utf-8", "replace")[:deliveries.EXCERPT]
    except (OSError, http.client.HTTPException):
        if fired.is_set():
            raise TimeoutError(f"the attempt took over {ATTEMPT_TIMEOUTS * timeout:g}s in all") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()
    if fired.is_set():  # the cut can end the headers early (a read at end of stream): not an answer
        raise TimeoutError(f"the attempt took over {ATTEMPT_TIMEOUTS * timeout:g}s in all")
    return answer.status, excerpt


def _cut(conn, fired):
    fired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
        except OSError:
            pass


def _connect(addresses, port, timeout):
    # Each address in turn, all of them within one timeout.
    deadline, error = time.monotonic() + timeout, None
    for where in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return socket.create_connection((where, port), left)
        except OSError as err:
            error = err
    raise error or TimeoutError(f"no connection to {', '.join(addresses)} within {timeout:g}s")


def _send_until(deliverer, stop, settings):
    down = False
    while not stop.is_set():
        busy = 0
        try:
            busy = deliverer.deliver_due() if settings.webhook_secret else 0
            down = False
        except UNAVAILABLE as err:
            if not down:
                log.warning("deliverer: database unreachable (%s); retrying", type(err).__name__)
            down = True
        except Exception:  # a bug must not stop every later delivery: log it, look again
            log.exception("deliverer: pass failed")
        if not busy:
            stop.wait(settings.webhook_poll_s)


def run(settings) -> int:
    """Deliver due webhooks, looking every WEBHOOK_POLL_S, until SIGTERM or SIGINT; errors are logged."""
    logs.configure(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    engine = make_engine(settings.database)
    deliverer = Deliverer(settings, make_sessionmaker(engine))
    if not settings.webhook_secret:
        log.info("deliverer: WEBHOOK_SECRET is empty, so webhooks are off: nothing is sent")
    # Several senders, so one receiver that answers slowly (up to the timeout, each attempt) does not hold
    # up everyone else's webhooks.
    senders = [threading.Thread(target=_send_until, args=(deliverer, stop, settings), name=f"sender-{n}")
               for n in range(SENDERS)]
    for sender in senders:
        sender.start()
    log.info("deliverer: ready, on %s; %d senders, retrying for %gs from %gs apart", shown(settings.database),
             SENDERS, settings.webhook_retry_for_s, settings.webhook_backoff_s)
    while not stop.is_set():
        stop.wait(1.0)  # signals reach the main thread only
    for sender in senders:
        sender.join()
    engine.dispose()
    log.info("deliverer: stopped")
    return 0
