"""POST /api/v1/jobs/<id>/cancel: a queued job is cancelled once; a second cancel is a 409."""
import re

import pytest

pytestmark = pytest.mark.usefixtures("redis_db")

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def queued(submit):
    """A queued numpy job's document."""
    response = submit({"variant": "numpy", "params": {"steps": 100}})
    assert response.status_code == 202
    return response.get_json()


def test_cancel_a_queued_job(client, queued, rows):
    response = client.post(f"/api/v1/jobs/{queued['id']}/cancel")
    assert response.status_code == 200
    job = response.get_json()
    assert job["id"] == queued["id"]
    assert job["status"] == "cancelled"
    assert ISO_UTC.match(job["finished_at"])
    assert job["finished_at"] >= job["created_at"]
    assert job["params"] == queued["params"]
    assert client.get(f"/api/v1/jobs/{queued['id']}").get_json() == job
    assert rows() == 1


def test_cancel_twice_is_a_conflict(client, problem, queued):
    first = client.post(f"/api/v1/jobs/{queued['id']}/cancel").get_json()
    body = problem(client.post(f"/api/v1/jobs/{queued['id']}/cancel"), 409, "id")
    assert "already cancelled" in body["detail"]
    shown = client.get(f"/api/v1/jobs/{queued['id']}").get_json()
    assert shown["status"] == "cancelled"
    assert shown["finished_at"] == first["finished_at"]


def test_cancel_one_job_leaves_the_others_queued(client, submit, queued):
    other = submit({"variant": "lstsq"}).get_json()
    client.post(f"/api/v1/jobs/{queued['id']}/cancel")
    assert client.get(f"/api/v1/jobs/{other['id']}").get_json()["status"] == "queued"


def test_cancel_takes_no_body(client, queued):
    """A client that sends a reason along gets the same answer."""
    response = client.post(f"/api/v1/jobs/{queued['id']}/cancel", json={"reason": "changed my mind"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
