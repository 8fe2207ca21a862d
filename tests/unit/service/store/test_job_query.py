"""GET /api/v1/jobs filters (status lists, created range, parameter values) and sorts by final_loss and
duration_s with keyset cursors, jobs without a value last."""
import base64
import json

import pytest

from service.clock import iso
from tests.unit.service.stored import ago, result, store


def _cursor(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _all(client, **query):
    """Every job of a listing, following next_cursor; (ids, page sizes)."""
    ids, sizes, cursor = [], [], None
    while True:
        response = client.get("/api/v1/jobs", query_string={**query, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        ids += [job["id"] for job in body["items"]]
        sizes.append(len(body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, sizes
        assert len(sizes) < 100, "next_cursor never ran out"


@pytest.fixture
def losses(app):
    """Jobs whose final losses tie, differ, and are missing (queued, running, failed, diverged)."""
    made = {}
    for name, loss, duration in [("b", 9.5, 0.3), ("a", 8.9, 0.9), ("c", 9.5, 0.1), ("d", 12.0, 0.5),
                                 ("e", 8.9, 0.2)]:
        made[name] = store(app, outcome=result(final_loss=loss, duration_s=duration))
    made["queued"] = store(app, status="queued")
    made["running"] = store(app, status="running")
    made["failed"] = store(app, status="failed")
    made["diverged"] = store(app, status="diverged", outcome=result(
        final_loss=None, history=[{"step": 99, "loss": 1e30}, {"step": 199, "loss": None}], duration_s=0.4))
    return made


def test_final_loss_ascending_ties_by_id_and_jobs_without_a_loss_last(client, losses):
    ids, _ = _all(client, order_by="final_loss")
    named = {v: k for k, v in losses.items()}
    # a, e tie at 8.9 and b, c at 9.5: the older id first; then the jobs with no loss, oldest first.
    assert [named[i] for i in ids] == ["a", "e", "b", "c", "d", "queued", "running", "failed", "diverged"]


def test_final_loss_descending_keeps_jobs_without_a_loss_last(client, losses):
    ids, _ = _all(client, order_by="-final_loss")
    named = {v: k for k, v in losses.items()}
    assert [named[i] for i in ids] == ["d", "c", "b", "e", "a", "diverged", "failed", "running", "queued"]


@pytest.mark.parametrize("order", ["final_loss", "-final_loss", "duration_s", "-duration_s",
                                   "created_at", "-created_at"])
@pytest.mark.parametrize("limit", [1, 2, 4, 5, 9])
def test_pages_of_any_size_list_every_job_once_in_the_same_order(client, losses, order, limit):
    whole, _ = _all(client, order_by=order, limit=200)
    paged, sizes = _all(client, order_by=order, limit=limit)
    assert paged == whole and len(whole) == len(losses)
    assert all(size == limit for size in sizes[:-1]) and 1 <= sizes[-1] <= limit


@pytest.mark.parametrize("order", ["final_loss", "-final_loss", "duration_s", "-duration_s"])
@pytest.mark.parametrize("statuses", ["succeeded,failed,queued,diverged", "failed,queued", "diverged,succeeded"])
def test_several_statuses_page_like_one_listing_filtered(client, losses, order, statuses):
    # Several statuses are read one by one and merged (service/store/query.py): the same jobs in the same
    # order as the whole listing with the others left out.
    wanted = {j["id"] for s in statuses.split(",") for j in
              client.get("/api/v1/jobs", query_string={"status": s, "limit": 200}).get_json()["items"]}
    whole = [i for i in _all(client, order_by=order, limit=200)[0] if i in wanted]
    for limit in (1, 2, 3, 200):
        assert _all(client, order_by=order, status=statuses, limit=limit)[0] == whole


def test_duration_orders_by_the_column_copied_from_the_result(client, losses):
    ids, _ = _all(client, order_by="duration_s", status="succeeded,diverged")
    named = {v: k for k, v in losses.items()}
    assert [named[i] for i in ids] == ["c", "e", "b", "diverged", "d", "a"]
    body = client.get("/api/v1/jobs", query_string={"order_by": "-duration_s", "limit": 1}).get_json()
    assert body["items"][0]["result"]["duration_s"] == 0.9


def test_several_statuses(client, losses):
    ids, _ = _all(client, status="queued,failed,queued")
    assert set(ids) == {losses["queued"], losses["failed"]}
    ids, _ = _all(client, status="running")
    assert ids == [losses["running"]]


def test_parameter_values_match_exactly(app, client):
    small = store(app, "tensor", params={"learning_rate": 1e-6, "seed": 3, "dtype": "float64"})
    big = store(app, "tensor", params={"learning_rate": 2e-6, "seed": 3})
    seeded = store(app, "lstsq", params={"seed": 4_294_967_295, "samples": 10})
    store(app, "dynamic", params={"seed": 4})
    assert _all(client, **{"param.learning_rate": "1e-6"})[0] == [small]
    assert _all(client, **{"param.learning_rate": "0.000002"})[0] == [big]
    assert _all(client, **{"param.seed": "3"}, order_by="created_at")[0] == [small, big]
    assert _all(client, **{"param.seed": "3", "param.dtype": "float64"})[0] == [small]
    assert _all(client, **{"param.seed": "4294967295"})[0] == [seeded]  # past a 32-bit INTEGER
    assert _all(client, **{"param.samples": "10", "variant": "lstsq"})[0] == [seeded]
    assert _all(client, **{"param.learning_rate": "3e-6"})[0] == []


def test_created_range_is_at_or_after_and_strictly_before(app, client):
    old, mid, new = (store(app, created_at=ago(s)) for s in (3600, 1800, 60))
    start = client.get(f"/api/v1/jobs/{mid}").get_json()["created_at"]
    assert _all(client, created_after=start)[0] == [new, mid]
    assert _all(client, created_before=start)[0] == [old]
    assert _all(client, created_after=iso(ago(7200)), created_before=iso(ago(600)))[0] == [mid, old]
    # An offset other than Z, and a '+' a URL turned into a space, mean the same moment.
    shifted = ago(1800).astimezone().isoformat()
    assert _all(client, created_after=shifted.replace("+", " "))[0] == _all(client, created_after=shifted)[0]


def test_filters_combine_with_sorts(app, client, losses):
    sweep = "f" * 32
    first = store(app, "tensor", outcome=result(final_loss=20.0), sweep_id=sweep)
    second = store(app, "tensor", outcome=result(final_loss=10.0), sweep_id=sweep)
    assert _all(client, sweep=sweep, order_by="final_loss", limit=1)[0] == [second, first]
    assert _all(client, sweep=sweep, order_by="-final_loss", status="succeeded")[0] == [first, second]


def test_a_created_at_cursor_from_before_sorting_by_value_still_continues(app, client):
    made = [store(app) for _ in range(4)]
    cursor = client.get("/api/v1/jobs", query_string={"limit": 1}).get_json()["next_cursor"]
    job_id, order, created = json.loads(base64.urlsafe_b64decode(cursor + "=="))
    assert (job_id, order) == (made[3], "-created_at")
    assert created == client.get(f"/api/v1/jobs/{made[3]}").get_json()["created_at"]
    old = _cursor([made[2], "-created_at"])  # what the listing handed out before
    ids = [j["id"] for j in client.get("/api/v1/jobs", query_string={"cursor": old}).get_json()["items"]]
    assert ids == made[1::-1]
    old = _cursor([made[1], "created_at"])
    ids = [j["id"] for j in client.get("/api/v1/jobs", query_string={"cursor": old, "order_by": "created_at"})
           .get_json()["items"]]
    assert ids == made[2:]


def test_jobs_made_in_one_sweep_share_created_at_and_page_by_id(app, client):
    stamp = ago(10)
    made = [store(app, created_at=stamp) for _ in range(5)]
    assert _all(client, limit=2)[0] == made[::-1]
    assert _all(client, limit=2, order_by="created_at")[0] == made


@pytest.mark.parametrize("query,field", [
    ({"status": "queued,done"}, "status"),
    ({"status": "queued,"}, "status"),
    ({"status": ","}, "status"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_after": "2026-11-27T05:39:11"}, "created_after"),  # no time zone
    ({"created_before": "2026-11-27"}, "created_before"),
    ({"created_before": "0001-01-01T00:00:00+01:00"}, "created_before"),  # before datetime.min in UTC
    ({"param.seed": "abc"}, "param.seed"),
    ({"param.seed": "-1"}, "param.seed"),
    ({"param.seed": "3.0"}, "param.seed"),
    ({"param.seed": "9" * 30}, "param.seed"),
    ({"param.learning_rate": "nan"}, "param.learning_rate"),
    ({"param.learning_rate": "1e999"}, "param.learning_rate"),
    ({"param.learning_rate": "0"}, "param.learning_rate"),
    ({"param.learning_rate": "1_0"}, "param.learning_rate"),
    ({"param.dtype": "float16"}, "param.dtype"),
    ({"param.priority": "1"}, "param.priority"),
    ({"order_by": "final_los"}, "order_by"),
    ({"order_by": "-final_loss", "cursor": _cursor(["a" * 32, "final_loss", 1.0])}, "cursor"),
    ({"order_by": "final_loss", "cursor": _cursor(["a" * 32, "final_loss"])}, "cursor"),
    ({"order_by": "final_loss", "cursor": _cursor(["a" * 32, "final_loss", True])}, "cursor"),
    ({"order_by": "final_loss", "cursor": _cursor(["a" * 32, "final_loss", "1"])}, "cursor"),
    ({"cursor": _cursor(["a" * 32, "-created_at", 1.0])}, "cursor"),
    ({"cursor": _cursor(["a" * 32, "-created_at", "yesterday"])}, "cursor"),
    ({"cursor": _cursor(["a" * 32, "-created_at", "2026-11-27T05:39:11"])}, "cursor"),
    ({"cursor": _cursor(["a" * 32, "-created_at", "0001-01-01T00:00:00+01:00"])}, "cursor"),
], ids=lambda v: repr(v)[:60])
def test_bad_filters_and_cursors(client, problem, query, field):
    problem(client.get("/api/v1/jobs", query_string=query), 400, field)


def test_a_nan_in_a_cursor_is_refused(client, problem):
    cursor = base64.urlsafe_b64encode(b'["' + b"a" * 32 + b'", "final_loss", NaN]').decode()
    problem(client.get("/api/v1/jobs", query_string={"order_by": "final_loss", "cursor": cursor}), 400, "cursor")
