"""Cross-site request forgery against `fitq up` (auth off on loopback) in a real headless Chromium: a page
served from another origin posts to the API as a prober's page did, and no job is made."""
import functools
import http.server
import os
import re
import shutil
import threading

import pytest
import requests

from tests.integration.processes import Client, Process, clean_env, free_port

CHROMIUM = os.environ.get("FITQ_CHROMIUM", "/usr/bin/chromium")

# What the attacker's page does: no-cors fetches (text/plain, none, a form type) and a text/plain form,
# each of which a browser sends without asking the API first.
ATTACK = """<!doctype html><title>cheap prizes</title>
<iframe name="sink"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="{api}/api/v1/jobs">
<input name='{{"variant": "lstsq", "x": "' value='"}}'></form>
<script>
window.attack = (async () => {{
  const bodies = {{jobs: '{{"variant": "lstsq"}}', sweeps: '{{"variant": "lstsq", "grid": {{"seed": [1, 2, 3]}}}}'}};
  for (const [path, body] of Object.entries(bodies)) {{
    for (const type of ["text/plain", "application/x-www-form-urlencoded", null]) {{
      const headers = type ? {{"Content-Type": type}} : {{}};
      await fetch("{api}/api/v1/" + path, {{method: "POST", mode: "no-cors", headers, body}});
    }}
  }}
  document.getElementById("f").submit();
  return "sent";
}})();
</script>"""


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (never Playwright's own download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        return _missing(f"Playwright is not installed ({err})")
    if not shutil.which(CHROMIUM):
        return _missing(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


def _missing(why):
    if os.environ.get("FITQ_REQUIRE_SERVICES"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """`fitq up` on the embedded default: SQLite, its own Redis, auth off on loopback."""
    tmp, port = tmp_path_factory.mktemp("csrf"), free_port()
    process = Process("up", clean_env(DATA_DIR=tmp, PORT=port), tmp / "up.log")
    try:
        process.wait_for_output("fitq is up at", timeout=120)
        yield process, Client(f"http://127.0.0.1:{port}")
    finally:
        assert process.stop() == 0, process.output()[-3000:]


@pytest.fixture
def attacker(tmp_path, up):
    """Another origin: a second local web server, on its own port, serving the attack page."""
    _, client = up
    (tmp_path / "index.html").write_text(ATTACK.format(api=client.base))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _jobs(client):
    return client.http.get(f"{client.base}/api/v1/jobs").json()["items"]


def test_a_page_on_another_origin_makes_no_job(browser, up, attacker):
    process, client = up
    assert _jobs(client) == []
    page = browser.new_page()
    page.goto(attacker)
    assert page.evaluate("window.attack") == "sent"
    page.wait_for_timeout(1000)  # the form's post, in its frame
    page.close()
    refused = re.findall(r'"POST /api/v1/(?:jobs|sweeps) HTTP/1.1" (\d{3})', process.output())
    assert len(refused) == 7 and set(refused) <= {"403", "415"}, refused  # they all arrived, and were refused
    assert _jobs(client) == []


def test_the_dashboards_own_origin_still_submits(browser, up):
    """The control: the same fetch from fitq's own page (same origin, JSON) is accepted."""
    _, client = up
    page = browser.new_page()
    page.goto(f"{client.base}/")
    status = page.evaluate("""fetch("api/v1/jobs", {method: "POST", headers: {"Content-Type": "application/json"},
                                                   body: '{"variant": "lstsq"}'}).then(r => r.status)""")
    page.close()
    assert status == 202
    assert len(_jobs(client)) == 1


def test_a_foreign_host_header_is_refused(up):
    """DNS rebinding: a name the attacker controls, resolved to 127.0.0.1, is not a name fitq answers to."""
    _, client = up
    response = requests.get(f"{client.base}/api/v1/jobs", headers={"Host": "rebind.attacker.example:8000"},
                            timeout=10)
    assert response.status_code == 400 and response.json()["field"] == "Host"
