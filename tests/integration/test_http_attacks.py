"""What a prober tried against a real API (gunicorn, its gevent workers, PostgreSQL): slow clients,
a foreign Host, a chunked body past the limit, forged cursors; each refused or bounded."""
import base64
import http.client
import json
import socket
import time

import pytest
import requests

from tests.integration.processes import Client, Process, clean_env, free_port

SLOW_CLIENTS = 50


@pytest.fixture(scope="module")
def api(tmp_path_factory, pg_url, redis_url):
    """`fitq api` alone, with its defaults (two gevent workers); no worker is needed to refuse things."""
    tmp, port = tmp_path_factory.mktemp("attacks"), free_port()
    server = Process("api", clean_env(DATABASE_URL=pg_url, REDIS_URL=redis_url, PORT=port, DATA_DIR=tmp,
                                      API_WORKERS=2, MAX_BODY_BYTES=4096), tmp / "api.log")
    client = Client(f"http://127.0.0.1:{port}")
    try:
        client.wait_healthy()
        yield client, port
    finally:
        server.stop()


def test_healthz_answers_while_slow_clients_hang_on(api):
    """Half a request line, then silence: each holds a connection, never a worker the others need."""
    client, port = api
    slow = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            slow.append(sock)
        time.sleep(0.5)  # let the server take them all in
        for _ in range(5):
            started = time.monotonic()
            response = requests.get(f"{client.base}/healthz", timeout=30)
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0
        started = time.monotonic()
        assert requests.get(f"{client.base}/api/v1/variants", timeout=30).status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        for sock in slow:
            sock.close()


def test_a_foreign_host_is_refused(api):
    """DNS rebinding: the request reaches 127.0.0.1 but names another host."""
    client, _ = api
    response = requests.get(f"{client.base}/api/v1/jobs", headers={"Host": "rebind.attacker.example"}, timeout=10)
    assert response.status_code == 400 and response.json()["field"] == "Host"


def test_a_chunked_body_past_the_limit_is_a_413(api):
    """No Content-Length: gunicorn reads the chunks and the API counts them, rather than cutting them."""
    client, port = api
    before = client.http.get(f"{client.base}/api/v1/jobs").json()["items"]  # other modules' jobs share the database
    body = b'{"variant": "lstsq"' + b" " * 5000 + b', "params": {"nope": 1}}'
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/v1/jobs", body=iter([body[:3000], body[3000:]]),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    answer = conn.getresponse()
    assert answer.status == 413, answer.read()[:300]
    conn.close()
    assert client.http.get(f"{client.base}/api/v1/jobs").json()["items"] == before  # no job was made


@pytest.mark.parametrize("order", ["final_loss", "-final_loss", "duration_s", "-duration_s"])
@pytest.mark.parametrize("value", [2**64, -(2**70), 2**63])
@pytest.mark.parametrize("status", [None, "succeeded,failed"], ids=["any-status", "multi-status"])
def test_a_forged_cursor_past_64_bits_is_no_server_error_on_postgresql(api, order, value, status):
    client, _ = api
    cursor = base64.urlsafe_b64encode(json.dumps(["0" * 32, order, value]).encode()).decode().rstrip("=")
    query = {"order_by": order, "cursor": cursor, **({"status": status} if status else {})}
    response = requests.get(f"{client.base}/api/v1/jobs", params=query, timeout=10)
    assert response.status_code == 200, response.text[:300]
