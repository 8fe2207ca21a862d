"""Redis down at submission: the job is recorded, the client is told, and a retry delivers it."""


def test_queue_down_is_a_503_that_keeps_the_job_and_a_retry_delivers_it(make_app, problem, rows,
                                                                        redis_db):
    down = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    key = {"Idempotency-Key": "while-redis-was-down"}
    body = problem(down.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=key), 503)
    assert body["job_id"] in body["detail"] and rows() == 1

    up = make_app().test_client()
    retry = up.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=key)
    assert retry.status_code == 202 and retry.get_json()["id"] == body["job_id"]
    assert retry.get_json()["status"] == "queued" and rows() == 1
    assert redis_db.llen("fitq") == 1  # delivered this time
