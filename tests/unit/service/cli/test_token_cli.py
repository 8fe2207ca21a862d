"""`fitq token create/list/revoke` in a real process, and the printed token used against the API."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def fitq(settings):
    """fitq(*args): run `python -m service.cli.main ARGS` on this test's database; the finished process."""

    def run(*args):
        env = {**os.environ, "DATABASE_URL": settings.database_url, "PYTHONPATH": str(REPO)}
        return subprocess.run([sys.executable, "-m", "service.cli.main", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)

    return run


def test_create_prints_the_token_once_and_the_api_takes_it(fitq, make_app, redis_db):
    created = fitq("token", "create", "ci")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("fitq_") and created.stdout.count("\n") == 1
    assert "cannot be shown again" in created.stderr and token not in created.stderr

    client = make_app(auth="on").test_client()
    response = client.post("/api/v1/jobs", json={"variant": "lstsq"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202
    assert redis_db.llen("fitq") == 1


def test_list_shows_ids_names_and_dates_never_a_secret(fitq):
    token = fitq("token", "create", "alice-laptop").stdout.strip()
    token_id, secret = token.split("_", 2)[1:]
    listed = fitq("token", "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:6] == ["ID", "NAME", "OWNER", "SCOPES", "CREATED", "REVOKED"]
    assert row.split()[:4] == [token_id, "alice-laptop", "alice-laptop", "read,submit"] and " UTC" in row
    assert secret not in listed.stdout + listed.stderr


def test_revoke_by_name_then_the_api_refuses_the_token(fitq, make_app, problem):
    token = fitq("token", "create", "ci").stdout.strip()
    revoked = fitq("token", "revoke", "ci")
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked token" in revoked.stderr

    client = make_app(auth="on").test_client()
    body = problem(client.get("/api/v1/variants", headers={"Authorization": f"Bearer {token}"}), 401)
    assert "revoked" in body["detail"]
    assert "UTC" in fitq("token", "list").stdout.splitlines()[1].split("ci", 1)[1]


def test_revoke_by_id(fitq, make_app):
    token = fitq("token", "create", "ci").stdout.strip()
    assert fitq("token", "revoke", token.split("_")[1]).returncode == 0
    client = make_app(auth="on").test_client()
    assert client.get("/api/v1/variants", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("args,says", [
    (("token", "revoke", "nobody"), "no token has the id or name 'nobody'"),
    (("token", "create", "two words"), "is not a token name"),
])
def test_errors_are_one_line_and_a_failure_code(fitq, args, says):
    result = fitq(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("fitq: ") and says in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_second_active_token_with_the_same_name_is_refused(fitq):
    assert fitq("token", "create", "ci").returncode == 0
    again = fitq("token", "create", "ci")
    assert again.returncode == 1 and "already named 'ci'" in again.stderr
    assert fitq("token", "revoke", "ci").returncode == 0
    assert fitq("token", "revoke", "ci").returncode == 1  # already revoked, and it says so


def test_token_needs_an_action(fitq):
    result = fitq("token")
    assert result.returncode == 2 and "ACTION" in result.stderr


def test_the_other_commands_still_parse(fitq):
    migrated = fitq("migrate")
    assert migrated.returncode == 0 and "database at head" in migrated.stdout
    assert "token" in fitq("--help").stdout


def test_create_takes_an_owner_and_scopes_and_list_shows_them(fitq, make_app):
    created = fitq("token", "create", "prom", "--owner", "ops", "--scopes", "metrics")
    assert created.returncode == 0, created.stderr
    assert "owner ops with scopes metrics" in created.stderr
    head, row = fitq("token", "list").stdout.splitlines()[:2]
    assert head.split()[:4] == ["ID", "NAME", "OWNER", "SCOPES"] and row.split()[1:4] == ["prom", "ops", "metrics"]
    client = make_app(auth="on").test_client()
    scraper = {"Authorization": f"Bearer {created.stdout.strip()}"}
    assert client.get("/metrics", headers=scraper).status_code == 200
    assert client.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=scraper).status_code == 403
    refused = fitq("token", "create", "x", "--scopes", "write")
    assert refused.returncode != 0 and "scopes are read, submit, admin, metrics" in refused.stderr
