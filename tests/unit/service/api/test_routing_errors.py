"""Unknown jobs, unknown URLs and wrong methods: problem+json, like every other error."""
import pytest

UNKNOWN_ID = "0" * 32


@pytest.mark.parametrize("job_id", [UNKNOWN_ID, "nope", "x" * 40, "%E2%98%83"],
                         ids=["well-formed", "short", "too-long", "snowman"])
def test_get_unknown_job(client, problem, job_id):
    problem(client.get(f"/api/v1/jobs/{job_id}"), 404, "id")


@pytest.mark.parametrize("job_id", [UNKNOWN_ID, "nope"])
def test_cancel_unknown_job(client, problem, rows, job_id):
    problem(client.post(f"/api/v1/jobs/{job_id}/cancel"), 404, "id")
    assert rows() == 0


@pytest.mark.parametrize("method,url", [
    ("DELETE", "/api/v1/jobs"),
    ("PUT", "/api/v1/jobs"),
    ("PATCH", f"/api/v1/jobs/{UNKNOWN_ID}"),
    ("DELETE", f"/api/v1/jobs/{UNKNOWN_ID}"),
    ("GET", f"/api/v1/jobs/{UNKNOWN_ID}/cancel"),
    ("POST", "/api/v1/variants"),
    ("POST", "/healthz"),
])
def test_wrong_method(client, problem, rows, method, url):
    problem(client.open(url, method=method), 405)
    assert rows() == 0


@pytest.mark.parametrize("method,url,allowed", [
    ("DELETE", "/api/v1/jobs", {"GET", "POST"}),
    ("GET", f"/api/v1/jobs/{UNKNOWN_ID}/cancel", {"POST"}),
])
def test_wrong_method_says_which_are_allowed(client, method, url, allowed):
    """RFC 9110 15.5.6: a 405 carries an Allow header, so a client can see what it should have sent."""
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}


@pytest.mark.parametrize("url", ["/nope", "/api/v1", "/api/v2/jobs", "/api/v1/job", "/api/v1/jobs/x/y"])
def test_unknown_url(client, problem, url):
    problem(client.get(url), 404)
