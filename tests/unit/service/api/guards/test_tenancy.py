"""Tokens as tenants: each acts for an owner with scopes; jobs and sweeps belong to their submitter's
owner, and another owner sees or cancels them only with admin (or reads them with SHARE_READS on)."""
import pytest

from service.store import tokens

SMALL = {"variant": "numpy", "params": {"steps": 10, "samples": 20, "log_every": 10}}


@pytest.fixture
def minted(make_app, redis_db):
    """minted(**settings) -> (client, {name: headers}) for alice and bob (owners of their own),
    carol (bob's owner, another token), root (admin) and viewer (read only)."""

    def make(**overrides):
        app = make_app(auth="on", **overrides)
        made = {}
        with app.extensions["fitq"].sessions() as session:
            for name, owner, scopes in [("alice", None, ("read", "submit")), ("bob", None, ("read", "submit")),
                                        ("carol", "bob", ("read", "submit")), ("root", "ops", ("admin",)),
                                        ("viewer", "alice", ("read",))]:
                text = tokens.create(session=session, name=name, owner=owner, scopes=scopes)[1]
                made[name] = {"Authorization": f"Bearer {text}"}
        return app.test_client(), made

    return make


def _submit(client, who, key=None):
    headers = {**who, **({"Idempotency-Key": key} if key else {})}
    response = client.post("/api/v1/jobs", json=SMALL, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_an_owners_jobs_are_hidden_from_other_owners(minted, problem):
    client, t = minted()
    job = _submit(client, t["alice"])
    problem(client.get(f"/api/v1/jobs/{job}", headers=t["bob"]), 404, "id")
    assert client.get("/api/v1/jobs", headers=t["bob"]).get_json()["items"] == []
    problem(client.get(f"/api/v1/compare?ids={job}", headers=t["bob"]), 404, "ids")
    problem(client.get(f"/api/v1/jobs/events?ids={job}", headers=t["bob"]), 404, "ids")
    problem(client.get(f"/api/v1/jobs/{job}/plots/loss.svg", headers=t["bob"]), 404, "id")
    problem(client.post(f"/api/v1/jobs/{job}/cancel", headers=t["bob"]), 404, "id")
    # Another token of the same owner, the owner's read-only token and an admin all see it.
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=t["viewer"]).get_json()["items"]] == [job]
    assert client.get(f"/api/v1/jobs/{job}", headers=t["root"]).status_code == 200
    assert client.post(f"/api/v1/jobs/{job}/cancel", headers=t["root"]).get_json()["status"] == "cancelled"


def test_a_sweep_belongs_to_its_owner(minted, problem):
    client, t = minted()
    body = {"variant": "numpy", "params": SMALL["params"], "grid": {"seed": [0, 1]}}
    sweep = client.post("/api/v1/sweeps", json=body, headers=t["bob"]).get_json()["id"]
    assert client.get(f"/api/v1/sweeps/{sweep}", headers=t["carol"]).status_code == 200  # same owner
    problem(client.get(f"/api/v1/sweeps/{sweep}", headers=t["alice"]), 404, "id")
    assert client.get(f"/api/v1/jobs?sweep={sweep}", headers=t["alice"]).get_json()["items"] == []


def test_shared_reads_show_everything_but_cancelling_stays_the_owners(minted, problem):
    client, t = minted(share_reads="on")
    job = _submit(client, t["alice"])
    assert client.get(f"/api/v1/jobs/{job}", headers=t["bob"]).status_code == 200
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=t["bob"]).get_json()["items"]] == [job]
    problem(client.post(f"/api/v1/jobs/{job}/cancel", headers=t["bob"]), 403, "id")
    assert client.get("/api/v1/whoami", headers=t["bob"]).get_json()["sees_all_owners"] is True


def test_idempotency_keys_are_scoped_per_owner(minted):
    client, t = minted()
    first, theirs = _submit(client, t["alice"], key="nightly"), _submit(client, t["bob"], key="nightly")
    assert first != theirs  # bob's key is his own: neither alice's job nor a 409 naming it
    assert _submit(client, t["alice"], key="nightly") == first
    assert _submit(client, t["carol"], key="nightly") == theirs  # carol acts for bob


def test_scopes_decide_what_a_token_may_do(minted, problem):
    client, t = minted()
    body = problem(client.post("/api/v1/jobs", json=SMALL, headers=t["viewer"]), 403, "Authorization")
    assert "'submit'" in body["detail"] and "read" in body["detail"]
    assert client.get("/api/v1/jobs", headers=t["viewer"]).status_code == 200
    assert client.get("/metrics", headers=t["alice"]).status_code == 403
    assert client.get("/metrics", headers=t["root"]).status_code == 200


def test_whoami_says_what_a_token_may_do(minted):
    client, t = minted()
    me = client.get("/api/v1/whoami", headers=t["carol"]).get_json()
    assert me["token"]["name"] == "carol"
    assert t["carol"]["Authorization"].startswith(f"Bearer fitq_{me['token']['id']}_")
    assert {k: me[k] for k in ("auth", "owner", "scopes", "sees_all_owners", "shared_reads")} == {
        "auth": True, "owner": "bob", "scopes": ["read", "submit"], "sees_all_owners": False, "shared_reads": False}


def test_with_auth_off_one_implicit_owner_may_do_everything(client, redis_db):
    assert client.get("/api/v1/whoami").get_json() == {
        "auth": False, "owner": "local", "scopes": ["admin", "metrics", "read", "submit"], "token": None,
        "sees_all_owners": True, "shared_reads": False}
    job = _submit(client, {})
    assert client.post(f"/api/v1/jobs/{job}/cancel").status_code == 200


def test_scope_names_are_checked():
    assert tokens.parse_scopes("submit, read") == ("read", "submit")
    for bad in ("", "write", "read,root"):
        with pytest.raises(tokens.TokenError):
            tokens.parse_scopes(bad)


def test_webhook_deliveries_are_read_like_their_job_or_sweep(minted, problem):
    client, t = minted(webhook_secret="s", webhook_allow_hosts="127.0.0.1")
    job = client.post("/api/v1/jobs", json={**SMALL, "callback_url": "http://127.0.0.1:9/h"},
                      headers=t["alice"]).get_json()["id"]
    client.post(f"/api/v1/jobs/{job}/cancel", headers=t["alice"])
    problem(client.get(f"/api/v1/jobs/{job}/deliveries", headers=t["bob"]), 404, "id")
    for who in ("alice", "viewer", "root"):
        [delivery] = client.get(f"/api/v1/jobs/{job}/deliveries", headers=t[who]).get_json()["items"]
        assert delivery["url"] == "http://127.0.0.1:9/h"
    sweep = client.post("/api/v1/sweeps", json={**SMALL, "grid": {"seed": [0, 1]}}, headers=t["bob"]).get_json()["id"]
    assert client.get(f"/api/v1/sweeps/{sweep}/deliveries", headers=t["carol"]).get_json() == {"items": []}
    problem(client.get(f"/api/v1/sweeps/{sweep}/deliveries", headers=t["alice"]), 404, "id")
    problem(client.get(f"/api/v1/jobs/{job}/deliveries"), 401)
