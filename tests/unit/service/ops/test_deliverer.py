"""The deliverer against a real HTTP receiver on 127.0.0.1 and a migrated SQLite store: what each kind of
answer (or none) leaves recorded, and the addresses it will not call however the name resolves later."""
import json
import socket
import threading
import time
from dataclasses import replace

import pytest

from service.ops.deliverer import Deliverer
from service.store import deliveries, jobs
from service.store.db import make_engine, make_sessionmaker
from service.webhooks.signature import HEADER, verify
from tests.integration.receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sessions(settings):
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def hooked(settings):
    return replace(settings, webhook_secret="unit-secret", webhook_allow_hosts="127.0.0.1", webhook_backoff_s=0.01,
                   webhook_timeout_s=1.0)


def _ended(sessions, url):
    # A job that succeeded with a callback: its delivery is written by the finish itself.
    with sessions() as session:
        job, _ = jobs.create(session=session, variant="lstsq", params={"samples": 10}, callback_url=url)
        claimed = jobs.claim(session=session, job_id=job.id, worker="w")
        jobs.finish(session=session, job_id=job.id, attempt=claimed.attempts, status="succeeded",
                    result={"final_loss": 0.5})
        return job.id


def _attempts(sessions, job_id):
    with sessions() as session:
        [(delivery, attempts)] = deliveries.of(session=session, job_id=job_id)
        return delivery.state, [(a.status_code, a.error) for a in attempts]


def _until_settled(deliverer, sessions, job_id, most=10):
    for _ in range(most):
        if _attempts(sessions, job_id)[0] != "pending":
            break
        deliverer.deliver_due()
        time.sleep(0.02)
    return _attempts(sessions, job_id)


def test_a_delivery_posts_the_signed_job_document_once(hooked, sessions, receiver):
    job_id = _ended(sessions, receiver.url("/ok"))
    deliverer = Deliverer(hooked, sessions)
    assert deliverer.deliver_due() == 1
    assert deliverer.deliver_due() == 0  # delivered: not sent again
    [got] = receiver.at("/ok")
    assert json.loads(got.body)["id"] == job_id and json.loads(got.body)["result"] == {"final_loss": 0.5}
    assert verify("unit-secret", got.headers[HEADER], got.body, now=time.time())
    assert _attempts(sessions, job_id) == ("delivered", [(200, None)])


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(hooked, sessions, receiver):
    receiver.plan("/moved", 302)
    job_id = _ended(sessions, receiver.url("/moved"))
    assert _until_settled(Deliverer(hooked, sessions), sessions, job_id) == ("delivered", [(302, None), (200, None)])
    assert receiver.at("/redirected") == []


def test_a_receiver_slower_than_the_timeout_is_an_error_and_retried(hooked, sessions, receiver):
    receiver.plan("/slow", 200, delay_s=3)
    job_id = _ended(sessions, receiver.url("/slow"))
    state, attempts = _until_settled(Deliverer(hooked, sessions), sessions, job_id)
    assert state == "delivered" and attempts[1] == (200, None)
    assert attempts[0][0] is None and "timed out" in attempts[0][1].lower(), attempts


def test_a_closed_port_is_an_error_and_after_the_retry_time_it_is_given_up(hooked, sessions, receiver):
    closed = receiver.url("/x").replace(str(receiver.port), "1")  # nothing listens on port 1
    job_id = _ended(sessions, closed)
    deliverer = Deliverer(replace(hooked, webhook_retry_for_s=0.001), sessions)
    deliverer.deliver_due()
    state, [(status, error)] = _attempts(sessions, job_id)
    assert state == "failed" and status is None and "ConnectionRefused" in error
    assert deliverer.deliver_due() == 0


def test_a_name_rebound_to_a_private_address_after_submission_is_not_called(hooked, sessions, receiver):
    # Accepted at submission when it resolved to a public address; by delivery it resolves to loopback.
    job_id = _ended(sessions, f"http://rebound.example:{receiver.port}/rebound")
    deliverer = Deliverer(replace(hooked, webhook_retry_for_s=0.001), sessions,
                          resolver=lambda host, port: ["127.0.0.1"])
    deliverer.deliver_due()
    state, [(status, error)] = _attempts(sessions, job_id)
    assert state == "failed" and status is None and error.startswith("refused: rebound.example resolves to 127.0.0.1")
    assert receiver.got == []


def test_a_delivery_claimed_by_a_deliverer_that_died_is_sent_once_its_lease_ends(hooked, sessions, receiver):
    job_id = _ended(sessions, receiver.url("/lease"))
    with sessions() as session:  # a deliverer claims it, then dies before sending
        [claimed] = deliveries.claim_due(session=session, lease_s=0.5)
    deliverer = Deliverer(hooked, sessions)
    assert deliverer.deliver_due() == 0  # still held
    time.sleep(0.6)
    assert deliverer.deliver_due() == 1
    assert _attempts(sessions, job_id) == ("delivered", [(200, None)]) and claimed.job_id == job_id


@pytest.fixture
def trickler():
    """A server that answers one header byte every 0.1 s, forever: each read is within any timeout."""
    server = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            try:
                while not done.wait(0.1):
                    conn.sendall(b"a")
            except OSError:
                pass  # the deliverer hung up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/trickle"
    done.set()
    server.close()


def test_a_receiver_trickling_its_answer_is_cut_off_within_the_attempts_bound(hooked, sessions, trickler):
    job_id = _ended(sessions, trickler)
    deliverer = Deliverer(replace(hooked, webhook_timeout_s=0.5, webhook_retry_for_s=0.001), sessions)
    deliverer.deliver_due()  # returns: the attempt did not hang on the trickle
    state, [(status, error)] = _attempts(sessions, job_id)
    assert state == "failed" and status is None and error == "TimeoutError: the attempt took over 1s in all"
