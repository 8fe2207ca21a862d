"""callback_url on POST /jobs and /sweeps: checked at submission, a 422 naming the field when fitq would not
call it, nothing written; and GET .../deliveries on what was accepted."""
import pytest
from sqlalchemy import func, select

from service.store.models import Sweep

pytestmark = pytest.mark.usefixtures("redis_db")

SECRET = {"webhook_secret": "test-secret"}


@pytest.fixture
def hooked(make_app):
    """A client of an API that signs webhooks and allows none of the local hosts."""
    return make_app(**SECRET).test_client()


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://localhost/", "http://127.0.0.1:9/",
    "http://[::1]/", "ftp://example.com/", "not a url", 42,
])
def test_a_forbidden_callback_is_a_422_naming_the_field_and_no_job_is_made(hooked, problem, rows, url):
    body = problem(hooked.post("/api/v1/jobs", json={"variant": "lstsq", "callback_url": url}), 422, "callback_url")
    assert body["detail"].startswith("callback_url")
    assert rows() == 0


def test_a_forbidden_callback_on_a_sweep_is_a_422_and_no_sweep_is_made(hooked, problem, rows):
    r = hooked.post("/api/v1/sweeps", json={"variant": "lstsq", "grid": {"samples": [10, 20]},
                                            "callback_url": "http://192.168.0.10/hook"})
    problem(r, 422, "callback_url")
    assert rows() == 0


def test_without_a_webhook_secret_no_callback_is_accepted(client, problem, rows):
    body = problem(client.post("/api/v1/jobs", json={"variant": "lstsq", "callback_url": "http://8.8.8.8/"}),
                   422, "callback_url")
    assert "WEBHOOK_SECRET" in body["detail"]
    assert rows() == 0


def test_an_allow_listed_host_is_accepted_and_its_job_lists_no_delivery_before_it_ends(make_app, rows):
    client = make_app(**SECRET, webhook_allow_hosts="127.0.0.1").test_client()
    r = client.post("/api/v1/jobs", json={"variant": "lstsq", "callback_url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 202, r.get_json()
    listed = client.get(f"/api/v1/jobs/{r.get_json()['id']}/deliveries")
    assert listed.status_code == 200 and listed.get_json() == {"items": []}
    assert rows() == 1


def test_a_cancelled_job_lists_its_pending_delivery(make_app):
    client = make_app(**SECRET, webhook_allow_hosts="127.0.0.1").test_client()
    job = client.post("/api/v1/jobs", json={"variant": "lstsq", "callback_url": "http://127.0.0.1:9/h"}).get_json()
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    [delivery] = client.get(f"/api/v1/jobs/{job['id']}/deliveries").get_json()["items"]
    assert delivery["url"] == "http://127.0.0.1:9/h" and delivery["state"] == "pending"
    assert delivery["attempts"] == [] and delivery["next_attempt_at"]


@pytest.mark.parametrize("path", ["jobs", "sweeps"])
def test_deliveries_of_an_unknown_id_are_a_404(client, problem, path):
    problem(client.get(f"/api/v1/{path}/{'0' * 32}/deliveries"), 404, "id")
    problem(client.get(f"/api/v1/{path}/nope/deliveries"), 404, "id")


SEARCH = {"variant": "tensor", "params": {"steps": 100}, "strategy": "tpe", "trials": 4,
          "space": {"learning_rate": {"low": 1e-7, "high": 3e-6}}}


def _sweeps(app):
    with app.extensions["fitq"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Sweep))


def test_a_search_takes_a_callback_checked_as_a_grids_is(make_app, problem):
    app = make_app(**SECRET, webhook_allow_hosts="127.0.0.1")
    client = app.test_client()
    problem(client.post("/api/v1/sweeps", json={**SEARCH, "callback_url": "http://10.1.2.3/hook"}), 422, "callback_url")
    assert _sweeps(app) == 0
    r = client.post("/api/v1/sweeps", json={**SEARCH, "callback_url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 202, r.get_json()
    assert client.get(f"/api/v1/sweeps/{r.get_json()['id']}/deliveries").get_json() == {"items": []}
    with app.extensions["fitq"].sessions() as session:
        assert session.get(Sweep, r.get_json()["id"]).callback_url == "http://127.0.0.1:9/hook"
