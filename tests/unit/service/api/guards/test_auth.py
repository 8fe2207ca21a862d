"""API tokens: with AUTH on, /api/v1 answers only a valid Bearer token, and a 401 says what was wrong."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from service.settings import Settings
from service.store import tokens
from service.store.models import ApiToken

JOB = "0" * 32


@pytest.fixture
def guarded(make_app):
    """An app with AUTH=on."""
    return make_app(auth="on")


@pytest.fixture
def mint(guarded):
    """mint(name): a new token on the guarded app's database; returns its text."""

    def create(name="test"):
        with guarded.extensions["fitq"].sessions() as session:
            return tokens.create(session=session, name=name)[1]

    return create


def bearer(text):
    return {"Authorization": f"Bearer {text}"}


def refused(problem, response):
    """Check a 401 with the Bearer challenge; return its detail."""
    body = problem(response, 401, "Authorization")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="fitq"'
    return body["detail"]


def api_routes(app):
    """(method, url) for every route under /api/v1, with a job id filled in."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield method, rule.rule.replace("<job_id>", JOB)


@pytest.mark.parametrize("host,auth,required", [
    ("127.0.0.1", "auto", False), ("127.3.2.1", "auto", False), ("::1", "auto", False),
    ("localhost", "auto", False), ("0.0.0.0", "auto", True), ("10.1.2.3", "auto", True),
    ("api.example", "auto", True), ("0.0.0.0", "off", False), ("127.0.0.1", "on", True),
])
def test_auth_modes(host, auth, required):
    assert Settings(host=host, auth=auth).auth_required is required


def test_an_unknown_auth_mode_is_refused_at_start_and_fails_closed():
    settings = Settings(host="127.0.0.1", auth="yes")
    assert any("AUTH ('yes') must be on, off or auto" in c for c in settings.contradictions())
    assert settings.auth_required


def test_loopback_default_needs_no_token(client):
    assert client.get("/api/v1/variants").status_code == 200


def test_auto_on_a_public_address_needs_a_token(make_app, problem):
    client = make_app(host="0.0.0.0").test_client()
    refused(problem, client.get("/api/v1/variants"))


def test_every_api_route_needs_a_token(guarded, problem, rows):
    client = guarded.test_client()
    routes = sorted(set(api_routes(guarded)) - {("GET", "/api/v1/openapi.json")})
    assert ("POST", "/api/v1/jobs") in routes and ("GET", "/api/v1/readyz") in routes
    for method, url in routes:
        refused(problem, client.open(url, method=method, json={"variant": "lstsq"}))
    refused(problem, client.get("/api/v1/no-such-route"))  # no hint of what exists, either
    assert rows() == 0


def test_documentation_and_root_probes_stay_open(guarded):
    client = guarded.test_client()
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_without_any_token_the_answer_says_how_to_create_one(guarded, problem):
    detail = refused(problem, guarded.test_client().get("/api/v1/variants"))
    assert "Authorization: Bearer <token>" in detail
    assert "fitq token create NAME" in detail


@pytest.mark.parametrize("header,says", [
    (None, "needs a token"),
    ("Basic dXNlcjpwYXNz", "'Basic' scheme is not accepted"),
    ("Bearer", "no token after `Bearer`"),
    ("Bearer   ", "no token after `Bearer`"),
    ("Bearer abc", "malformed"),
    ("Bearer fitq_1234abcd_short", "malformed"),
    ("Bearer fitq_1234abcd_" + "A" * 43, "not valid"),
])
def test_each_refusal_says_what_is_wrong(guarded, mint, problem, header, says):
    mint()
    headers = {"Authorization": header} if header is not None else {}
    detail = refused(problem, guarded.test_client().get("/api/v1/variants", headers=headers))
    assert says in detail
    assert "no token exists yet" not in detail  # a token exists: no setup hint


def test_a_wrong_secret_reads_like_an_unknown_token(guarded, mint, problem):
    token = mint()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    detail = refused(problem, guarded.test_client().get("/api/v1/variants", headers=bearer(forged)))
    assert "not valid" in detail


def test_a_valid_token_is_let_in(guarded, mint, redis_db):
    client, token = guarded.test_client(), mint()
    assert client.get("/api/v1/variants", headers=bearer(token)).status_code == 200
    # The scheme is case-insensitive (RFC 9110 11.1).
    response = client.post("/api/v1/jobs", json={"variant": "lstsq"},
                           headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 202
    assert redis_db.llen("fitq") == 1


def test_a_revoked_token_is_refused_and_says_so(guarded, mint, problem):
    client, token = guarded.test_client(), mint("ci")
    assert client.get("/api/v1/variants", headers=bearer(token)).status_code == 200
    with guarded.extensions["fitq"].sessions() as session:
        tokens.revoke(session=session, which="ci")
    detail = refused(problem, client.get("/api/v1/variants", headers=bearer(token)))
    assert "revoked" in detail and "(ci)" in detail
    assert "fitq token create NAME" in detail  # no active token is left


def test_only_the_hash_of_the_secret_is_stored(guarded, mint):
    token = mint("stored")
    secret = token.split("_", 2)[2]
    with guarded.extensions["fitq"].sessions() as session:
        row = session.scalars(select(ApiToken)).one()
    assert token.startswith(f"fitq_{row.id}_") and len(row.secret_sha256) == 64
    assert secret not in repr([getattr(row, c.key) for c in ApiToken.__table__.columns])


def test_last_used_is_written_at_most_once_a_minute(guarded, mint):
    client, token = guarded.test_client(), mint()
    sessions = guarded.extensions["fitq"].sessions

    def last_used():
        with sessions() as session:
            return session.scalars(select(ApiToken.last_used_at)).one()

    assert last_used() is None
    client.get("/api/v1/variants", headers=bearer(token))
    first = last_used()
    client.get("/api/v1/variants", headers=bearer(token))
    assert first is not None and last_used() == first
    with sessions() as session:  # as if the last use were two minutes ago
        session.execute(update(ApiToken).values(last_used_at=first - timedelta(minutes=2)))
        session.commit()
    client.get("/api/v1/variants", headers=bearer(token))
    assert last_used() > first - timedelta(minutes=2)


@pytest.mark.parametrize("name,says", [
    ("", "not a token name"), ("two words", "not a token name"), ("x" * 65, "not a token name"),
    ("deadbeef", "8 hex digits"),
])
def test_bad_token_names_are_refused(guarded, name, says):
    with guarded.extensions["fitq"].sessions() as session, pytest.raises(tokens.TokenError) as err:
        tokens.create(session=session, name=name)
    assert says in str(err.value)


def test_a_name_is_unique_among_active_tokens_only(guarded, mint):
    mint("ci")
    with pytest.raises(tokens.TokenError, match="already named 'ci'"):
        mint("ci")
    with guarded.extensions["fitq"].sessions() as session:
        tokens.revoke(session=session, which="ci")
    mint("ci")  # the name is free again once its token is revoked


def test_the_schema_itself_keeps_active_names_unique(guarded):
    def row(token_id, revoked=None):
        return ApiToken(id=token_id, name="same", secret_sha256="0" * 64, created_at=tokens.now(),
                        revoked_at=revoked)

    with guarded.extensions["fitq"].sessions() as session:
        session.add_all([row("00000001", revoked=tokens.now()), row("00000002")])
        session.commit()  # a revoked token and an active one may share a name
        session.add(row("00000003"))
        with pytest.raises(IntegrityError):
            session.commit()
