"""GET /api/v1/jobs sorts and filters by the excess over the least-squares optimum (columns of migration
0008, copied from the result as the worker writes it); jobs without one (older results, no result yet,
diverged) come last in either direction and never match a bound."""
import pytest

from tests.unit.service.store.test_job_query import _all
from tests.unit.service.stored import result, store

BEST = 8.817165410007027


def measured(final_loss):
    """A result with the optimum fields a worker stores since fits/optimum.py."""
    gap = None if final_loss is None else final_loss - BEST
    return {**result(final_loss=final_loss), "optimum_loss": BEST, "excess_loss": gap,
            "relative_excess_loss": None if gap is None else gap / BEST}


@pytest.fixture
def excesses(app):
    """Jobs whose excesses tie, differ, and are missing (an old result, queued, diverged)."""
    made = {name: store(app, outcome=measured(loss))
            for name, loss in [("b", 9.5), ("a", 8.9), ("c", 9.5), ("d", 12.0)]}
    made["old"] = store(app, outcome=result(final_loss=8.85))  # written before the optimum was stored
    made["queued"] = store(app, status="queued")
    made["diverged"] = store(app, status="diverged", outcome=measured(None))
    return made


@pytest.mark.parametrize("key", ["excess_loss", "relative_excess_loss"])
def test_excess_orders_both_ways_with_jobs_without_one_last(client, excesses, key):
    named = {v: k for k, v in excesses.items()}
    assert [named[i] for i in _all(client, order_by=key)[0]] == ["a", "b", "c", "d", "old", "queued", "diverged"]
    assert [named[i] for i in _all(client, order_by=f"-{key}")[0]] == [
        "d", "c", "b", "a", "diverged", "queued", "old"]


@pytest.mark.parametrize("order", ["excess_loss", "-excess_loss", "relative_excess_loss", "-relative_excess_loss"])
def test_excess_pages_list_every_job_once(client, excesses, order):
    whole, _ = _all(client, order_by=order, limit=200)
    for limit in (1, 2, 3):
        assert _all(client, order_by=order, limit=limit)[0] == whole
    assert _all(client, order_by=order, status="succeeded,diverged", limit=2)[0] == [
        i for i in whole if i not in (excesses["queued"],)]


def test_the_excess_is_stored_in_the_job_document(client, excesses):
    job = client.get(f"/api/v1/jobs/{excesses['a']}").get_json()
    assert job["result"]["excess_loss"] == pytest.approx(8.9 - BEST)
    assert job["result"]["relative_excess_loss"] == pytest.approx((8.9 - BEST) / BEST)


def test_bounds_keep_jobs_at_most_that_far_from_the_optimum(client, excesses):
    named = {v: k for k, v in excesses.items()}
    kept = _all(client, max_excess_loss="0.7", order_by="excess_loss")[0]
    assert [named[i] for i in kept] == ["a", "b", "c"]
    kept = _all(client, max_relative_excess_loss=str((9.5 - BEST) / BEST + 1e-12), order_by="-excess_loss")[0]
    assert [named[i] for i in kept] == ["c", "b", "a"]
    assert _all(client, max_excess_loss="-1")[0] == []


@pytest.mark.parametrize("field", ["max_excess_loss", "max_relative_excess_loss"])
@pytest.mark.parametrize("raw", ["", "abc", "nan", "inf", "1e999", "0.1,0.2", "--1"])
def test_a_bound_that_is_not_a_number_is_named(client, field, raw):
    response = client.get("/api/v1/jobs", query_string={field: raw})
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    assert response.get_json()["field"] == field
