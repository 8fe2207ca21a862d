"""CORS: no Access-Control header unless CORS_ORIGINS lets the request's origin in."""
import pytest

from service.settings import Settings

ALLOWED = "https://app.example"
PREFLIGHT = {"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


def cors_headers(response):
    return {k for k in response.headers.keys() if k.lower().startswith("access-control-")}


def test_not_configured_means_no_cors_header_ever(client):
    assert cors_headers(client.get("/api/v1/variants", headers={"Origin": ALLOWED})) == set()
    assert cors_headers(client.options("/api/v1/jobs", headers=PREFLIGHT)) == set()


def test_an_allowed_origin_may_read_the_answer(make_app):
    client = make_app(cors_origins=f"https://other.example, {ALLOWED}").test_client()
    response = client.get("/api/v1/variants", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "Retry-After"} <= exposed


@pytest.mark.parametrize("origin", ["https://evil.example", "http://app.example",
                                    "https://app.example:8443", "null"])
def test_any_other_origin_gets_nothing(make_app, origin):
    client = make_app(cors_origins=ALLOWED).test_client()
    assert cors_headers(client.get("/api/v1/variants", headers={"Origin": origin})) == set()
    assert cors_headers(client.options("/api/v1/jobs", headers={**PREFLIGHT, "Origin": origin})) == set()


def test_no_origin_no_header(make_app):
    client = make_app(cors_origins=ALLOWED).test_client()
    assert cors_headers(client.get("/api/v1/variants")) == set()


def test_a_preflight_is_answered_without_a_token(make_app):
    client = make_app(cors_origins=ALLOWED, auth="on").test_client()
    response = client.options("/api/v1/jobs", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"Authorization", "Content-Type", "Idempotency-Key"}
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_a_browser_can_read_a_refusal_too(make_app, problem):
    client = make_app(cors_origins=ALLOWED, auth="on").test_client()
    response = client.get("/api/v1/variants", headers={"Origin": ALLOWED})
    problem(response, 401)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_star_lets_every_origin_in(make_app):
    client = make_app(cors_origins="*").test_client()
    response = client.get("/api/v1/variants", headers={"Origin": "https://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://anyone.example"


@pytest.mark.parametrize("origins", ["https://app.example/", "https://app.example/path", "app.example",
                                     "*, https://app.example"])
def test_origins_that_could_never_match_are_refused_at_start(origins):
    assert any("CORS_ORIGINS" in c for c in Settings(cors_origins=origins).contradictions())


@pytest.mark.parametrize("origins", ["", "*", "https://app.example,http://localhost:3000",
                                     "http://[::1]:8080"])
def test_valid_origins_pass(origins):
    assert Settings(cors_origins=origins).contradictions() == []
