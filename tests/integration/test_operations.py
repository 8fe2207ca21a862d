"""What an operator watches, on a live stack (gunicorn, a CPU-only worker, PostgreSQL, a Redis of its own):
/metrics, the workers' reports, the notice on a job nothing serves, and JSON logs that carry job ids."""
import json
import subprocess
import sys
import time

import pytest

from service.store.migrate import upgrade
from tests.integration.conftest import Stack
from tests.integration.processes import REPO
from tests.integration.servers import PrivateRedis

# A CPU-only deployment: no worker takes the gpu queue. JSON logs; heartbeats often.
ENV = {"LOG_FORMAT": "json", "WORKER_QUEUES": "fitq,cpu", "HEARTBEAT_S": 0.5, "STALE_AFTER_S": 3}
SHORT = {"steps": 300, "samples": 200, "device": "cpu"}
LONG = {"steps": 400000, "samples": 100, "log_every": 500, "device": "cpu"}


@pytest.fixture(scope="module")
def ops(tmp_path_factory, pg_databases):
    """A stack on a database and a Redis of its own, so its counts are its own."""
    tmp = tmp_path_factory.mktemp("ops")
    database = pg_databases()
    upgrade(database)
    broker = PrivateRedis(tmp)
    stack = Stack(tmp, database, broker.url, extra_env=ENV)
    yield stack
    stack.close()
    broker.close()


def _get(stack, path):
    response = stack.client.http.get(stack.client.base + path, timeout=30)
    assert response.status_code == 200, response.text
    return response


def metrics(stack) -> dict:
    """{sample with labels: value} from GET /metrics."""
    text = _get(stack, "/metrics").text
    return {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
            for line in text.splitlines() if line and not line.startswith("#")}


def _mine(stack):
    """This stack's worker process reports."""
    return [w for w in _get(stack, "/api/v1/workers").json()
            if w["name"].startswith(f"fitq-{stack.worker.proc.pid}@")]


def test_finished_jobs_queue_depth_and_live_workers_show_in_metrics(ops):
    done = [ops.client.wait(ops.client.submit("tensor", **SHORT)["id"]) for _ in range(3)]
    assert all(job["status"] == "succeeded" for job in done)

    m = metrics(ops)

    assert m['fitq_jobs_finished_total{variant="tensor",status="succeeded"}'] == 3
    assert m['fitq_jobs_submitted_total{variant="tensor"}'] == 3
    assert m['fitq_job_duration_seconds_count{variant="tensor"}'] == 3
    assert m['fitq_job_duration_seconds_sum{variant="tensor"}'] == pytest.approx(
        sum(job["result"]["duration_s"] for job in done), rel=1e-6)
    assert m['fitq_job_queue_wait_seconds_count{device="cpu"}'] == 3
    assert 0 < m['fitq_job_queue_wait_seconds_sum{device="cpu"}'] < 60  # PostgreSQL's interval arithmetic
    assert m['fitq_job_queue_wait_seconds_bucket{device="cpu",le="+Inf"}'] == 3
    assert m['fitq_workers{device="cpu"}'] == 1 and m['fitq_workers{device="cuda"}'] == 0
    assert m['fitq_queue_consumers{queue="cpu"}'] == 1 and m['fitq_queue_consumers{queue="gpu"}'] == 0
    assert m['fitq_queue_depth{queue="cpu"}'] == 0 and m["fitq_redis_up"] == 1


def test_a_cuda_job_with_no_gpu_worker_up_says_so_while_it_waits(ops):
    job = ops.client.submit("tensor", steps=100, device="cuda")
    try:
        assert job["notice"].startswith("no live worker consumes queue gpu: start a GPU worker"), job
        time.sleep(1.5)
        again = ops.client.job(job["id"])
        assert again["status"] == "queued" and again["notice"] == job["notice"]
        assert metrics(ops)['fitq_queue_depth{queue="gpu"}'] == 1
    finally:
        ops.client.http.post(f"{ops.client.base}/api/v1/jobs/{job['id']}/cancel")
    assert ops.client.submit("tensor", **SHORT)["notice"] is None  # the cpu queue is served


def test_the_workers_endpoint_and_fitq_workers_show_the_job_that_runs(ops):
    job = ops.client.submit("autograd", **LONG)
    try:
        ops.client.wait(job["id"], until={"running"})
        deadline = time.monotonic() + 10
        while not (_mine(ops) and _mine(ops)[0]["jobs"] == [job["id"]]):
            assert time.monotonic() < deadline, _get(ops, "/api/v1/workers").json()
            time.sleep(0.1)
        (worker,) = _mine(ops)
        assert (worker["device"], worker["gpu"], worker["queues"], worker["pool"]) == \
            ("cpu", None, ["cpu", "fitq"], "solo")
        assert ops.worker.output().count("reports itself") == 1  # one writer per process, not two
        table = subprocess.run([sys.executable, "-m", "service.cli.main", "workers"], cwd=REPO, env=ops.env,
                               capture_output=True, text=True, timeout=60)
        assert table.returncode == 0, table.stderr
        (row,) = [line for line in table.stdout.splitlines() if line.startswith(worker["name"])]
        assert job["id"] in row and "cpu,fitq" in row
    finally:
        ops.client.http.post(f"{ops.client.base}/api/v1/jobs/{job['id']}/cancel")
    deadline = time.monotonic() + 10
    while _mine(ops)[0]["jobs"]:  # it stops at its next history point and says so
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _json_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_json_logs_carry_the_job_id_through_api_and_worker(ops):
    job = ops.client.wait(ops.client.submit("tensor", **SHORT)["id"])
    api = _json_lines(ops.tmp / "api.log")
    worker = _json_lines(ops.tmp / "worker.log")

    assert {"ts", "level", "logger", "message"} <= set(api[0]) and api[0]["logger"] == "gunicorn.error"
    (queued,) = [line for line in api if line.get("job_id") == job["id"]]
    assert queued["message"] == f"job {job['id']} queued: tensor"
    about = [line for line in worker if job["id"] in line["message"] or line.get("job_id") == job["id"]]
    assert all(line.get("job_id") == job["id"] for line in about), about
    assert [line["logger"] for line in about] == ["worker.tasks", "worker.tasks", "celery.app.trace"]
    assert about[1]["message"] == f"job {job['id']} succeeded"
