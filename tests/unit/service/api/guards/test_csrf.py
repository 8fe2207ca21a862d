"""Cross-site request forgery and DNS rebinding: what a page on another origin can send is refused."""
import pytest

pytestmark = pytest.mark.usefixtures("redis_db")

BODY = b'{"variant": "lstsq"}'
OWN = "http://localhost"  # the test client's Host is localhost


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          None])
@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/sweeps"])
def test_a_body_a_browser_sends_without_a_preflight_is_refused(client, problem, rows, path, content_type):
    """text/plain, forms and no type at all are what a no-cors fetch or a form can send: a 415."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, data=BODY, headers=headers)
    problem(response, 415, "Content-Type")
    assert rows() == 0


def test_json_with_a_charset_is_json(client):
    response = client.post("/api/v1/jobs", data=BODY, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 202


@pytest.mark.parametrize("headers", [
    {"Origin": "http://127.0.0.1:9999"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
], ids=["other-port", "cross-site", "same-site", "opaque", "no-origin-cross-site"])
def test_a_write_from_another_origin_is_refused(client, problem, rows, headers):
    """Even as JSON (a preflight the browser may skip in some future or buggy path), nothing is written."""
    problem(client.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=headers), 403, "Origin")
    problem(client.post("/api/v1/jobs/0123456789abcdef0123456789abcdef/cancel", headers=headers), 403, "Origin")
    assert rows() == 0


@pytest.mark.parametrize("headers", [
    {}, {"Origin": OWN, "Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
], ids=["curl", "own-page", "address-bar"])
def test_writes_from_this_origin_and_from_outside_a_browser_pass(client, headers):
    assert client.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=headers).status_code == 202


def test_an_origin_cors_allows_may_write(make_app):
    client = make_app(cors_origins="https://app.example").test_client()
    response = client.post("/api/v1/jobs", json={"variant": "lstsq"},
                           headers={"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_base_url_counts_as_this_origin(make_app):
    """Behind a proxy that rewrites Host, the page's origin is the public one."""
    client = make_app(base_url="https://fitq.example").test_client()
    response = client.post("/api/v1/jobs", json={"variant": "lstsq"}, headers={"Origin": "https://fitq.example"})
    assert response.status_code == 202


def test_reads_from_another_origin_are_not_refused(client):
    """A cross-origin GET changes nothing, and without CORS its answer stays unreadable to the page."""
    response = client.get("/api/v1/variants", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", "[::2]:8000", ""])
@pytest.mark.parametrize("path", ["/", "/api/v1/variants", "/api/v1/jobs", "/docs", "/api/v1/openapi.json"])
def test_a_foreign_host_is_refused(client, problem, host, path):
    """DNS rebinding: a page whose name now points at 127.0.0.1 reads nothing (and writes nothing)."""
    problem(client.get(path, headers={"Host": host}), 400, "Host")


def test_a_foreign_host_cannot_submit(client, problem, rows):
    problem(client.post("/api/v1/jobs", json={"variant": "lstsq"}, headers={"Host": "evil.example"}), 400, "Host")
    assert rows() == 0


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_served_by_default(client, host):
    assert client.get("/api/v1/variants", headers={"Host": host}).status_code == 200


def test_the_root_probes_answer_any_host(client):
    """An orchestrator probes by the address it knows (a pod IP); the probes hold no data."""
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200


def test_allowed_hosts_replaces_the_loopback_names(make_app, problem):
    client = make_app(allowed_hosts="fitq.example, 10.0.0.5").test_client()
    assert client.get("/api/v1/variants", headers={"Host": "fitq.example"}).status_code == 200
    assert client.get("/api/v1/variants", headers={"Host": "10.0.0.5:8000"}).status_code == 200
    problem(client.get("/api/v1/variants", headers={"Host": "localhost"}), 400, "Host")


def test_a_specific_bind_address_is_served_too(make_app):
    client = make_app(host="192.168.1.5").test_client()
    assert client.get("/", headers={"Host": "192.168.1.5:8000"}).status_code == 200  # / needs no token


def test_a_star_serves_any_host(make_app):
    client = make_app(allowed_hosts="*").test_client()
    assert client.get("/api/v1/variants", headers={"Host": "anything.example"}).status_code == 200
