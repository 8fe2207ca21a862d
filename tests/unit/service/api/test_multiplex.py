"""GET /api/v1/jobs/events?ids=: several finished jobs' newest points, documents and one end at once;
ids that are missing, too many, malformed, unknown or another owner's answered before any stream."""
import json

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.api.multiplex import MAX_IDS, Followed
from service.store import jobs, points

pytestmark = pytest.mark.usefixtures("redis_db")


def parse(text):
    """The events of a text/event-stream body as [(name, data)]; they carry no id."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            assert "id" not in fields
            events.append((fields["event"], json.loads(fields["data"])))
    return events


@pytest.fixture
def store(settings):
    """A session on the test's database, as a worker writes it."""
    engine = create_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def _finish(store, job_id, stored, history):
    attempt = jobs.claim(session=store, job_id=job_id, worker="w@here").attempts
    points.add(session=store, rows=[(job_id, step, loss) for step, loss in stored])
    jobs.finish(session=store, job_id=job_id, attempt=attempt, status="succeeded",
                result={"loss_history": [{"step": s, "loss": loss} for s, loss in history],
                        "final_loss": history[-1][1], "duration_s": 0.1})


def test_finished_jobs_send_their_newest_point_and_document_each_then_one_end(client, submit, store):
    body = {"variant": "numpy", "params": {"steps": 300, "log_every": 100}}
    ran, short, cancelled = (submit(body).get_json()["id"] for _ in range(3))
    _finish(store, ran, [(100, 3.0), (200, 2.0)], [(100, 3.0), (200, 2.0), (299, 1.0)])
    _finish(store, short, [], [(100, 5.0)])  # ended before its first beat: no points stored
    client.post(f"/api/v1/jobs/{cancelled}/cancel")

    response = client.get(f"/api/v1/jobs/events?ids={ran},{short},{cancelled},{ran}")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = parse(response.get_data(as_text=True))
    assert [(name, data.get("id")) for name, data in events] == [
        ("progress", ran), ("status", ran), ("progress", short), ("status", short), ("status", cancelled),
        ("end", None)]
    assert events[0][1] == {"id": ran, "step": 299, "steps": 300, "loss": 1.0}  # the result's last point
    assert events[2][1] == {"id": short, "step": 100, "steps": 300, "loss": 5.0}
    assert events[1][1]["status"] == "succeeded" and events[1][1]["result"]["final_loss"] == 1.0
    assert events[-1][1] == {"statuses": {ran: "succeeded", short: "succeeded", cancelled: "cancelled"}}
    repeated = client.get(f"/api/v1/jobs/events?ids={ran}&ids={cancelled}").get_data(as_text=True)
    assert [name for name, _ in parse(repeated)] == ["progress", "status", "status", "end"]


def test_each_pass_sends_what_moved_since_the_last_forward_only_then_the_end(app, submit, store):
    running, queued = (submit({"variant": "numpy", "params": {"steps": 300, "log_every": 100}}).get_json()["id"]
                       for _ in range(2))
    attempt = jobs.claim(session=store, job_id=running, worker="w@here").attempts
    followed = Followed(app.extensions["fitq"], [running, queued])

    def one_pass():
        chunks, over = followed.one_pass()
        return [(name, data.get("id"), data.get("status") or data.get("step"))
                for name, data in parse("".join(chunks))], over

    assert one_pass() == ([("status", running, "running"), ("status", queued, "queued")], False)
    assert one_pass() == ([], False)  # nothing moved
    points.add(session=store, rows=[(running, 0, 9.0), (running, 100, 3.0)])
    assert one_pass() == ([("progress", running, 100)], False)  # the newest point only
    assert one_pass() == ([], False)
    jobs.finish(session=store, job_id=running, attempt=attempt, status="failed", result=None,
                error={"type": "Boom", "message": "no"})
    assert one_pass() == ([("status", running, "failed")], False)  # no result: no point past 100
    jobs.cancel(session=store, job_id=queued)
    events, over = one_pass()
    assert events == [("status", queued, "cancelled"), ("end", None, None)] and over


def test_the_newest_point_of_each_job(store, submit):
    first, second, none = (submit({"variant": "numpy", "params": {"steps": 300}}).get_json()["id"] for _ in range(3))
    points.add(session=store, rows=[(first, 0, 9.0), (first, 200, None), (first, 100, 4.0), (second, 50, 2.5)])
    assert points.newest(session=store, job_ids=[first, second, none]) == {first: (200, None), second: (50, 2.5)}
    assert points.newest(session=store, job_ids=[]) == {}


@pytest.mark.parametrize("query, status", [
    ("", 400), ("ids=", 400), ("ids=nope", 400), ("ids={job},x", 400), ("ids={many}", 400),
    ("ids={job}&other=1", 400), ("ids={job},{unknown}", 404)])
def test_bad_ids_are_a_problem_naming_them_before_any_stream(client, submit, problem, query, status):
    job = submit({"variant": "numpy", "params": {"steps": 100}}).get_json()["id"]
    many = ",".join(f"{n:032x}" for n in range(MAX_IDS + 1))
    response = client.get(f"/api/v1/jobs/events?{query.format(job=job, many=many, unknown='0' * 32)}")
    body = problem(response, status, "other" if "other" in query else "ids")
    if status == 404:
        assert body["unknown"] == ["0" * 32]
