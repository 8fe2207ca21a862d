"""Idempotency-Key: a retried submission returns the first job; a reused key for another request is a 409."""
import pytest

pytestmark = pytest.mark.usefixtures("redis_db")

BODY = {"variant": "numpy", "params": {"steps": 100, "seed": 3}}


def test_retry_returns_the_first_job_and_writes_one_row(submit, rows, redis_db):
    first = submit(BODY, {"Idempotency-Key": "k-1"})
    again = submit(BODY, {"Idempotency-Key": "k-1"})
    assert first.status_code == 202 and again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert rows() == 1
    # Still queued, so the replay sends it again (its first send may have failed); the worker's
    # claim runs it once (tests/integration/test_jobs_end_to_end.py).
    assert redis_db.llen("cpu") == 2


def test_retry_without_a_seed_returns_the_first_jobs_seed(submit, rows):
    first = submit({"variant": "tensor"}, {"Idempotency-Key": "no-seed"}).get_json()
    again = submit({"variant": "tensor"}, {"Idempotency-Key": "no-seed"}).get_json()
    assert again["id"] == first["id"] and again["params"]["seed"] == first["params"]["seed"]
    assert rows() == 1


def test_different_keys_make_different_jobs(submit, rows):
    a = submit(BODY, {"Idempotency-Key": "a"}).get_json()["id"]
    b = submit(BODY, {"Idempotency-Key": "b"}).get_json()["id"]
    assert a != b
    assert rows() == 2


@pytest.mark.parametrize("other", [
    {"variant": "numpy", "params": {"steps": 200, "seed": 3}},
    {"variant": "numpy", "params": {"steps": 100, "seed": 4}},
    {"variant": "tensor", "params": {"steps": 100, "seed": 3}},
    {"variant": "numpy", "params": {"steps": 100, "seed": 3, "learning_rate": 2e-6}},
    {"variant": "numpy", "params": {"seed": 3}},
    {"variant": "numpy"},
], ids=["other-steps", "other-seed", "other-variant", "extra-param", "dropped-steps", "no-params"])
def test_same_key_for_a_different_request_is_a_conflict(submit, problem, rows, other):
    first = submit(BODY, {"Idempotency-Key": "k-2"}).get_json()
    body = problem(submit(other, {"Idempotency-Key": "k-2"}), 409, "Idempotency-Key")
    assert first["id"] in body["detail"]
    assert rows() == 1


@pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "201-chars"])
def test_key_length_is_checked(submit, problem, rows, key):
    problem(submit(BODY, {"Idempotency-Key": key}), 400, "Idempotency-Key")
    assert rows() == 0


def test_longest_key_is_accepted(submit, rows):
    assert submit(BODY, {"Idempotency-Key": "k" * 200}).status_code == 202
    assert submit(BODY, {"Idempotency-Key": "k" * 200}).headers.get("Idempotent-Replayed") == "true"
    assert rows() == 1


def test_retry_with_an_explicit_null_seed_is_the_same_request(submit, rows):
    body = {"variant": "tensor", "params": {"seed": None, "steps": 10}}
    first = submit(body, {"Idempotency-Key": "null-seed"})
    again = submit(body, {"Idempotency-Key": "null-seed"})
    assert again.status_code == 202 and again.get_json()["id"] == first.get_json()["id"]
    assert rows() == 1
