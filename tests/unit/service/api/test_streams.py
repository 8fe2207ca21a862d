"""GET /api/v1/jobs/<id>/events and /sweeps/<id>/events on finished work: replayed at once and closed;
resumed after Last-Event-ID; unknown ids and bad ids answered as problems before any stream starts."""
import itertools
import json

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from service.store import jobs, points, searches
from service.store.models import Sweep
from tests.unit.service import stored

pytestmark = pytest.mark.usefixtures("redis_db")


def parse(text):
    """The events of a text/event-stream body as [(name, id, data)]."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append((fields["event"], fields["id"], json.loads(fields["data"])))
    return events


@pytest.fixture
def store(settings):
    """A session on the test's database, as a worker writes it."""
    engine = create_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def finished(submit, store):
    """A job that ran to step 300 (points 100, 200 stored as it ran; 300 only in its result)."""
    job_id = submit({"variant": "numpy", "params": {"steps": 300, "log_every": 100}}).get_json()["id"]
    attempt = jobs.claim(session=store, job_id=job_id, worker="w@here").attempts
    points.add(session=store, rows=[(job_id, 100, 3.0), (job_id, 200, 2.0)])
    history = [{"step": 100, "loss": 3.0}, {"step": 200, "loss": 2.0}, {"step": 300, "loss": 1.0}]
    jobs.finish(session=store, job_id=job_id, attempt=attempt, status="succeeded",
                result={"loss_history": history, "final_loss": 1.0, "duration_s": 0.1})
    return job_id


def test_a_finished_job_replays_its_history_status_and_end_at_once(client, finished):
    response = client.get(f"/api/v1/jobs/{finished}/events")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = parse(response.get_data(as_text=True))
    assert [(name, eid) for name, eid, _ in events] == [
        ("progress", "100"), ("progress", "200"), ("progress", "300"), ("status", "300.succeeded"),
        ("end", "300.end")]
    assert events[1][2] == {"step": 200, "steps": 300, "loss": 2.0}
    assert events[3][2]["status"] == "succeeded" and events[3][2]["id"] == finished


def test_last_event_id_resumes_after_it_with_nothing_twice(client, finished):
    after = parse(client.get(f"/api/v1/jobs/{finished}/events", headers={"Last-Event-ID": "200"}).get_data(True))
    assert [eid for _, eid, _ in after] == ["300", "300.succeeded", "300.end"]
    after = parse(client.get(f"/api/v1/jobs/{finished}/events",
                             headers={"Last-Event-ID": "300.succeeded"}).get_data(True))
    assert [eid for _, eid, _ in after] == ["300.end"]


def test_a_cancelled_queued_job_has_no_history_only_its_status_and_end(client, submit):
    job_id = submit({"variant": "numpy", "params": {"steps": 100}}).get_json()["id"]
    client.post(f"/api/v1/jobs/{job_id}/cancel")
    events = parse(client.get(f"/api/v1/jobs/{job_id}/events").get_data(as_text=True))
    assert [(name, eid) for name, eid, _ in events] == [("status", "-1.cancelled"), ("end", "-1.end")]
    resumed = parse(client.get(f"/api/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "-1.queued"}).get_data(True))
    assert [(name, eid) for name, eid, _ in resumed] == [("status", "-1.cancelled"), ("end", "-1.end")]


@pytest.mark.parametrize("path", ["/api/v1/jobs/{}/events", "/api/v1/sweeps/{}/events"])
def test_an_unknown_id_is_a_404_problem(client, problem, path):
    problem(client.get(path.format("0" * 32)), 404, "id")
    problem(client.get(path.format("nope")), 404, "id")


@pytest.mark.parametrize("bad", ["x; drop", "²", "1.²", "-2", "1" * 80, "1.succeeded.end"])
def test_a_malformed_last_event_id_is_a_422_naming_it(client, problem, finished, bad):
    problem(client.get(f"/api/v1/jobs/{finished}/events", headers={"Last-Event-ID": bad.encode().decode("latin-1")}),
            422, "Last-Event-ID")
    problem(client.get(f"/api/v1/jobs/{finished}/events?last_event_id={bad}"), 422, "Last-Event-ID")


def test_a_finished_sweep_sends_each_job_its_counts_best_and_end(client, store):
    r = client.post("/api/v1/sweeps", json={"variant": "numpy", "params": {"steps": 100},
                                            "grid": {"seed": [1, 2]}})
    sweep_id = r.get_json()["id"]
    ids = [j["id"] for j in client.get(f"/api/v1/jobs?sweep={sweep_id}").get_json()["items"]]
    for loss, job_id in zip([2.0, 1.0], ids):
        attempt = jobs.claim(session=store, job_id=job_id, worker="w@here").attempts
        jobs.finish(session=store, job_id=job_id, attempt=attempt, status="succeeded",
                    result={"loss_history": [], "final_loss": loss, "duration_s": 0.1})
    events = parse(client.get(f"/api/v1/sweeps/{sweep_id}/events").get_data(as_text=True))
    assert [name for name, _, _ in events] == ["job", "job", "counts", "best", "end"]
    assert events[2][2]["succeeded"] == 2 and events[3][2]["job_id"] == ids[1]
    resumed = parse(client.get(f"/api/v1/sweeps/{sweep_id}/events", headers={"Last-Event-ID": "1"}).get_data(True))
    assert [(name, data.get("id")) for name, _, data in resumed][:1] == [("job", events[1][2]["id"])]


@pytest.mark.parametrize("trials", [2, 10])
def test_a_search_ends_its_stream_once_it_stops_asking(make_app, trials):
    # Opened while the search asks: it ends once the search has stopped, with every trial it asked finished;
    # not before (all 2 trials finished, but the sweeper has not ended it yet), and not at the 10 trials it
    # might have asked when it stops short of them, at its target.
    app = make_app(stream_poll_s=0.05, stream_keepalive_s=0.1)
    client = app.test_client()
    sweep_id = client.post("/api/v1/sweeps", json={
        "variant": "tensor", "params": {"samples": 50, "steps": 100}, "strategy": "tpe", "trials": trials,
        "space": {"learning_rate": {"low": 1e-7, "high": 3e-6}}, "stop_at_excess": 0.5}).get_json()["id"]
    with app.extensions["fitq"].sessions() as session:
        session.execute(update(Sweep).where(Sweep.id == sweep_id).values(asked=2))
        session.commit()
    for _ in range(2):
        stored.store(app, outcome={**stored.result(), "relative_excess_loss": 0.1}, sweep_id=sweep_id)
    response = client.get(f"/api/v1/sweeps/{sweep_id}/events", buffered=False)
    chunks = iter(response.response)
    assert b"event: best" in b"".join(itertools.islice(chunks, 4))  # job, job, counts, best
    assert b"".join(itertools.islice(chunks, 2)) == b": keep-alive\n\n" * 2  # not over yet
    with app.extensions["fitq"].sessions() as session:
        searches.end(session=session, sweep_id=sweep_id, reason="target")
    rest = b"".join(itertools.islice(chunks, 20))  # keep-alives every 0.1 s until it ends: not 20 of them
    response.close()
    assert b"event: end" in rest


def test_a_searchs_stream_names_the_best_trial_its_document_names(make_app):
    # A search's trials differ in their points, so their final losses do not compare: its best is the trial
    # of least relative excess loss, in GET /sweeps/<id> and in its stream alike.
    app = make_app(stream_poll_s=0.05, stream_keepalive_s=0.1)
    client = app.test_client()
    sweep_id = client.post("/api/v1/sweeps", json={
        "variant": "tensor", "params": {"steps": 100}, "strategy": "random", "trials": 2,
        "space": {"samples": {"choices": [50, 500]}}}).get_json()["id"]
    with app.extensions["fitq"].sessions() as session:
        session.execute(update(Sweep).where(Sweep.id == sweep_id).values(asked=2))
        session.commit()
    low_loss = stored.store(app, params={"samples": 50}, sweep_id=sweep_id,
                            outcome={**stored.result(final_loss=1.0), "relative_excess_loss": 0.5})
    near = stored.store(app, params={"samples": 500}, sweep_id=sweep_id,
                        outcome={**stored.result(final_loss=9.0), "relative_excess_loss": 0.001})
    with app.extensions["fitq"].sessions() as session:
        searches.end(session=session, sweep_id=sweep_id, reason="trials")

    events = parse(client.get(f"/api/v1/sweeps/{sweep_id}/events").get_data(as_text=True))

    [best] = [data for name, _, data in events if name == "best"]
    assert best == client.get(f"/api/v1/sweeps/{sweep_id}").get_json()["best"]
    assert best["job_id"] == near != low_loss and best["relative_excess_loss"] == 0.001
