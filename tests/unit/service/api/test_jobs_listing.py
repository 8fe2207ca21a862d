"""GET /api/v1/jobs: newest first (or oldest), filters, cursor paging, and 400s for bad queries."""
import base64
import json

import pytest


def _cursor(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("query,field", [
    ({"status": "done"}, "status"),
    ({"status": "QUEUED"}, "status"),
    ({"status": ""}, "status"),
    ({"variant": "numpie"}, "variant"),
    ({"variant": ""}, "variant"),
    ({"order_by": "id"}, "order_by"),
    ({"order_by": "-id"}, "order_by"),
    ({"order_by": "status"}, "order_by"),
    ({"order_by": "created_at; DROP TABLE jobs"}, "order_by"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"limit": ""}, "limit"),
    ({"limit": "99999999999999999999999"}, "limit"),
    ({"limit": "\u00b2"}, "limit"),  # superscript two: str.isdigit() says yes, int() says no
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": "!!!"}, "cursor"),
    ({"cursor": ""}, "cursor"),
    ({"cursor": "\u00e9"}, "cursor"),
    ({"cursor": _cursor({"a": 1, "b": 2})}, "cursor"),
    ({"cursor": _cursor(5)}, "cursor"),
    ({"cursor": _cursor([1, "-created_at"])}, "cursor"),
    ({"cursor": _cursor(["x", "-created_at", 3])}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"[" * 1100).decode()}, "cursor"),  # nested past recursion
    ({"cursor": "A" * 201}, "cursor"),
    ({"cursor": _cursor(["x", "id"])}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"\xff\xfe[").decode()}, "cursor"),
    ({"page": "2"}, "page"),
    ({"offset": "10"}, "offset"),
    ({"Status": "queued"}, "Status"),
], ids=lambda v: repr(v)[:50])
def test_bad_query(client, problem, query, field):
    problem(client.get("/api/v1/jobs", query_string=query), 400, field)


def _make(submit, count, variant="numpy"):
    ids = []
    for _ in range(count):
        response = submit({"variant": variant})
        assert response.status_code == 202
        ids.append(response.get_json()["id"])
    return ids


def _pages(client, **query):
    """Every page of a listing, following next_cursor; the ids on each page."""
    pages, cursor = [], None
    while True:
        q = dict(query, **({"cursor": cursor} if cursor else {}))
        response = client.get("/api/v1/jobs", query_string=q)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([job["id"] for job in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "next_cursor never ran out"


def test_empty_listing(client):
    assert client.get("/api/v1/jobs").get_json() == {"items": [], "next_cursor": None}


@pytest.mark.usefixtures("redis_db")
def test_newest_first_by_default(client, submit):
    created = _make(submit, 4)
    body = client.get("/api/v1/jobs").get_json()
    assert [job["id"] for job in body["items"]] == created[::-1]
    assert body["next_cursor"] is None
    assert body["items"][0] == client.get(f"/api/v1/jobs/{created[-1]}").get_json()


@pytest.mark.usefixtures("redis_db")
def test_cursor_pages_through_every_job_once(client, submit):
    created = _make(submit, 7)
    pages = _pages(client, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == created[::-1]


@pytest.mark.usefixtures("redis_db")
def test_last_full_page_has_no_cursor(client, submit):
    created = _make(submit, 6)
    pages = _pages(client, limit=3)
    assert [len(p) for p in pages] == [3, 3]
    assert sum(pages, []) == created[::-1]


@pytest.mark.usefixtures("redis_db")
def test_order_by_created_at_is_oldest_first(client, submit):
    created = _make(submit, 5)
    assert sum(_pages(client, order_by="created_at"), []) == created
    pages = _pages(client, order_by="created_at", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == created
    assert sum(_pages(client, order_by="-created_at", limit=2), []) == created[::-1]


@pytest.mark.usefixtures("redis_db")
def test_cursor_does_not_carry_over_to_another_order(client, submit, problem):
    _make(submit, 3)
    cursor = client.get("/api/v1/jobs", query_string={"limit": 1}).get_json()["next_cursor"]
    assert cursor
    problem(client.get("/api/v1/jobs", query_string={"cursor": cursor, "order_by": "created_at"}),
            400, "cursor")


@pytest.mark.usefixtures("redis_db")
def test_filter_by_variant(client, submit):
    numpy = _make(submit, 2, "numpy")
    lstsq = _make(submit, 3, "lstsq")
    _make(submit, 1, "tensor")
    assert sum(_pages(client, variant="lstsq"), []) == lstsq[::-1]
    assert sum(_pages(client, variant="numpy", limit=1), []) == numpy[::-1]
    assert _pages(client, variant="dynamic") == [[]]


@pytest.mark.usefixtures("redis_db")
def test_filter_by_status(client, submit):
    ids = _make(submit, 4)
    for job_id in ids[1:3]:
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
    assert sum(_pages(client, status="cancelled"), []) == ids[2:0:-1]
    assert sum(_pages(client, status="queued"), []) == [ids[3], ids[0]]
    assert _pages(client, status="running") == [[]]
    cancelled = client.get("/api/v1/jobs", query_string={"status": "cancelled"}).get_json()["items"]
    assert {job["status"] for job in cancelled} == {"cancelled"}


@pytest.mark.usefixtures("redis_db")
def test_filters_combine(client, submit):
    numpy = _make(submit, 2, "numpy")
    lstsq = _make(submit, 2, "lstsq")
    client.post(f"/api/v1/jobs/{numpy[0]}/cancel")
    client.post(f"/api/v1/jobs/{lstsq[1]}/cancel")
    query = {"variant": "numpy", "status": "queued", "order_by": "created_at", "limit": 1}
    assert sum(_pages(client, **query), []) == [numpy[1]]
