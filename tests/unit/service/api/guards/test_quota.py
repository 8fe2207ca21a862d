"""Quotas on queued work: past MAX_QUEUED_JOBS or MAX_QUEUED_WORK a submission is a 429 that says why,
counted per owner with tokens, and for everyone together with AUTH off; a large sweep goes at low priority."""
from service.store import tokens

SMALL = {"variant": "numpy", "params": {"steps": 10, "samples": 20, "log_every": 10}}


def test_auth_off_counts_every_queued_job_together(make_app, problem, redis_db):
    client = make_app(max_queued_jobs=2).test_client()
    assert [client.post("/api/v1/jobs", json=SMALL).status_code for _ in range(2)] == [202, 202]
    body = problem(client.post("/api/v1/jobs", json=SMALL), 429, "quota")
    assert "MAX_QUEUED_JOBS (2)" in body["detail"] and body["queued_jobs"] == 2
    sweep = {**SMALL, "grid": {"seed": [0, 1]}}
    problem(client.post("/api/v1/sweeps", json=sweep), 429, "quota")


def test_each_owner_has_its_own_quota_of_work(make_app, problem, redis_db):
    app = make_app(auth="on", max_queued_work=500)
    with app.extensions["fitq"].sessions() as session:
        alice = {"Authorization": f"Bearer {tokens.create(session=session, name='alice')[1]}"}
        bob = {"Authorization": f"Bearer {tokens.create(session=session, name='bob')[1]}"}
    client = app.test_client()
    assert client.post("/api/v1/jobs", json=SMALL, headers=alice).status_code == 202  # 200 of 500
    assert client.post("/api/v1/jobs", json=SMALL, headers=alice).status_code == 202  # 400
    body = problem(client.post("/api/v1/jobs", json=SMALL, headers=alice), 429, "quota")
    assert "owner 'alice'" in body["detail"] and "MAX_QUEUED_WORK (500)" in body["detail"]
    assert client.post("/api/v1/jobs", json=SMALL, headers=bob).status_code == 202  # bob's own quota


def test_a_large_sweep_waits_behind_single_jobs(make_app, redis_db):
    client = make_app(small_sweep_jobs=2, batch_size=1).test_client()
    client.post("/api/v1/sweeps", json={**SMALL, "grid": {"seed": [0, 1, 2]}})
    client.post("/api/v1/sweeps", json={**SMALL, "grid": {"seed": [0, 1]}})
    client.post("/api/v1/jobs", json=SMALL)
    # kombu's Redis transport: priority 0 in the bare list, read first; 9 in <queue>\x06\x169.
    assert redis_db.llen("cpu") == 3 and redis_db.llen("cpu\x06\x169") == 3  # numpy jobs go to cpu
