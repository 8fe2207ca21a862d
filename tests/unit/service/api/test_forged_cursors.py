"""A forged cursor whose value no column can hold is a 400 or an empty page, never a 500."""
import base64
import json

import pytest

from tests.unit.service.stored import result, store

JOB = "0123456789abcdef0123456789abcdef"
HUGE = [2**64, -(2**64), 10**100, 2**63, -(2**63) - 1, 10**140]


def forged(order, value):
    """A cursor as a prober makes one: our format, a value of their choosing."""
    return base64.urlsafe_b64encode(json.dumps([JOB, order, value]).encode()).decode().rstrip("=")


@pytest.fixture
def finished(app):
    for loss in (1.0, 2.0, 3.0):
        store(app, outcome=result(final_loss=loss, duration_s=loss))
    store(app, status="failed")


@pytest.mark.usefixtures("finished")
@pytest.mark.parametrize("value", HUGE, ids=str)
@pytest.mark.parametrize("order", ["final_loss", "-final_loss", "duration_s", "-duration_s"])
@pytest.mark.parametrize("status", [None, "succeeded,failed"], ids=["any-status", "multi-status"])
def test_an_integer_past_64_bits_is_never_a_server_error(client, order, value, status):
    query = {"order_by": order, "cursor": forged(order, value), **({"status": status} if status else {})}
    response = client.get("/api/v1/jobs", query_string=query)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    if response.status_code == 400:  # too long to be one of ours
        assert len(query["cursor"]) > 200
        return
    losses = [job["result"]["final_loss"] if job["result"] else None for job in response.get_json()["items"]]
    # Past every value (ascending from +huge or descending from -huge): only the jobs without one are left.
    if (value > 0) != order.startswith("-"):
        assert losses == [None]


@pytest.mark.parametrize("value", [1e999, "1", True, [1], {"a": 1}], ids=["inf", "text", "bool", "list", "dict"])
def test_a_value_of_another_kind_is_a_400(client, problem, value):
    cursor = base64.urlsafe_b64encode(json.dumps([JOB, "final_loss", value]).encode()).decode()
    problem(client.get("/api/v1/jobs", query_string={"order_by": "final_loss", "cursor": cursor}), 400, "cursor")


def test_a_created_at_past_any_date_is_a_400(client, problem):
    cursor = forged("-created_at", "99999-01-01T00:00:00+00:00")
    problem(client.get("/api/v1/jobs", query_string={"cursor": cursor}), 400, "cursor")
