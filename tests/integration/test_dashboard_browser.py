"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright) on the real stack.

FITQ_SCREENSHOT=docs/images/dashboard.png saves the README's screenshot of a finished job's page; without
it the screenshot goes to the test's temporary folder, so a test run leaves the checkout as it was.
"""
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.integration.processes import REPO, Client, Process, clean_env, free_port

CHROMIUM = os.environ.get("FITQ_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 800}
WAIT_MS = 120_000  # a job's run, on a busy CI machine


def _missing(why):
    # In CI (FITQ_REQUIRE_SERVICES=1) a browser that cannot run is a failure, not a skip.
    message = f"{why}; .ci/run installs Debian's chromium, and `pip install -e '.[dev]'` Playwright"
    if os.environ.get("FITQ_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the system (Playwright's own browser download is never used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        _missing(f"Playwright is not installed ({err})")
    if not shutil.which(CHROMIUM):
        _missing(f"no Chromium at {CHROMIUM} (set FITQ_CHROMIUM to another)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM)
        except Exception as err:  # a missing library, a sandbox refused: say so in one line
            _missing(f"Chromium at {CHROMIUM} does not start: {str(err).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh tab (its own local storage); the test fails on an uncaught error or a blocked resource."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda err: problems.append(f"uncaught: {err}"))
    tab.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    yield tab
    context.close()
    assert problems == []


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_a_job_submitted_from_the_form_runs_live_in_the_list_and_shows_its_plots(stack, page, tmp_path, request):
    # The stack's one worker runs this first, so the form's job is surely still queued when the list
    # shows it, however fast it would run (a GPU, an idle machine); cancelled, it frees the worker.
    blocker = stack.client.submit("dynamic", steps=1_000_000, samples=100, log_every=1000)
    stack.client.wait(blocker["id"], until={"running"})
    request.addfinalizer(lambda: stack.client.http.post(f"{stack.client.base}/api/v1/jobs/{blocker['id']}/cancel"))
    page.goto(f"{stack.client.base}/")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Submit a job").click()
    page.select_option("select[name=variant]", "custom_function")
    page.fill("input[name='params.steps']", "10000")
    page.fill("input[name='params.log_every']", "500")
    page.fill("input[name='params.seed']", "0")
    page.get_by_role("button", name="Submit job").click()
    page.wait_for_url(re.compile(r"#/jobs/[0-9a-f]{32}$"))
    job_id = page.url.rsplit("/", 1)[1]

    page.get_by_role("link", name="Jobs", exact=True).click()
    row = page.locator(f"tr[data-id='{job_id}']")
    expect(row).to_have_attribute("data-status", "queued")
    assert stack.client.http.post(f"{stack.client.base}/api/v1/jobs/{blocker['id']}/cancel").ok
    expect(row).to_have_attribute("data-status", "succeeded", timeout=WAIT_MS)  # no reload: the list's stream
    expect(row.locator("progress")).to_have_attribute("value", "10000")
    assert page.evaluate("window.notReloaded") is True

    row.get_by_role("link").click()
    job = stack.client.job(job_id)
    loss = page.locator("figure.loss svg path[data-series='loss']")
    expect(loss).to_have_count(1)
    assert loss.get_attribute("d").count("L") == len(job["result"]["loss_history"]) - 1
    expect(page.locator("figure.fit svg path")).to_have_count(2)  # sin(x) and the fit
    expect(page.locator("code.formula")).to_have_text(job["result"]["formula"])
    assert job["params"]["seed"] == 0 and job["params"]["steps"] == 10000

    shot = Path(os.environ.get("FITQ_SCREENSHOT") or tmp_path / "dashboard.png")
    page.screenshot(path=str(shot))
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == (1280, 800)


def test_a_running_jobs_loss_curve_grows_live_from_its_stream_without_polling(stack, page):
    job = stack.client.submit("autograd", steps=200_000, samples=100, log_every=1000, device="cpu")
    stack.client.wait(job["id"], until={"running"})
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{stack.client.base}/#/jobs/{job['id']}")
    page.evaluate("window.notReloaded = true")
    live = page.locator("figure.loss svg path[data-series='live-loss']")
    expect(live).to_have_count(1, timeout=WAIT_MS)
    drawn = live.get_attribute("d").count("L")
    page.wait_for_function("(n) => { const p = document.querySelector(\"path[data-series='live-loss']\"); "
                           "return p && p.getAttribute('d').split('L').length - 1 > n + 5; }",
                           arg=drawn, timeout=WAIT_MS)  # more points, drawn as they came
    assert stack.client.job(job["id"])["status"] == "running"
    done = stack.client.wait(job["id"])
    expect(page.locator("figure.loss svg path[data-series='loss']")).to_have_count(1)  # the server's plot
    expect(page.locator("code.formula")).to_have_text(done["result"]["formula"])
    assert page.evaluate("window.notReloaded") is True
    reads = [url for url in asked if url.endswith(f"/api/v1/jobs/{job['id']}")]
    assert len(reads) <= 1, reads  # the finished job read once, at the end: no polling meanwhile


def _listings(urls):
    # The list's own reads of the jobs (GET /api/v1/jobs?...), not its stream (/api/v1/jobs/events?...).
    return [url for url in urls if re.search(r"/api/v1/jobs(\?|$)", url)]


def test_the_list_updates_a_running_jobs_row_from_its_stream_without_polling(stack, page):
    job = stack.client.submit("autograd", steps=100_000, samples=100, log_every=1000, device="cpu")
    stack.client.wait(job["id"], until={"running"})
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{stack.client.base}/")
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"tr[data-id='{job['id']}']")
    expect(row).to_have_attribute("data-status", "running")
    shown = int(row.locator("progress").get_attribute("value"))
    # The bar moves while the job runs: the stream's progress events, not a reload of the list.
    page.wait_for_function("([id, n]) => { const p = document.querySelector(`tr[data-id='${id}'] progress`); "
                           "return p && p.closest('tr').dataset.status === 'running' && Number(p.value) > n; }",
                           arg=[job["id"], shown], timeout=WAIT_MS)
    before_end = len(_listings(asked))
    expect(row).to_have_attribute("data-status", "succeeded", timeout=WAIT_MS)
    done = stack.client.job(job["id"])
    expect(row.locator("td.num").first).not_to_have_text("—")  # the final loss, from the status document
    assert before_end == 1, _listings(asked)  # the list was read once, when the page opened
    assert len(_listings(asked)) <= 2  # and at most once more after the stream's end
    streams = [url for url in asked if "/api/v1/jobs/events?" in url]
    assert len(streams) == 1 and job["id"] in streams[0], streams
    assert done["status"] == "succeeded" and page.evaluate("window.notReloaded") is True


def test_the_list_polls_when_its_stream_cannot_be_opened(stack, page):
    job = stack.client.submit("autograd", steps=30_000, samples=100, log_every=1000, device="cpu")
    stack.client.wait(job["id"], until={"running"})
    refused = []
    page.route(re.compile(r"/api/v1/jobs/events\?"), lambda route: (refused.append(route.request.url),
                                                          route.fulfill(status=502, body="no streaming here")))
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{stack.client.base}/")
    row = page.locator(f"tr[data-id='{job['id']}']")
    expect(row).to_have_attribute("data-status", "succeeded", timeout=WAIT_MS)
    assert len(refused) == 1  # tried once, then polled
    assert len(_listings(asked)) >= 2


def test_a_sweep_from_the_form_is_plotted_and_compared_in_one_plot_and_table(stack, page):
    page.goto(f"{stack.client.base}/#/submit?mode=sweep")
    page.select_option("select[name=variant]", "tensor")
    page.fill("input[name='params.steps']", "300")
    page.fill("input[name='grid.learning_rate']", "1e-6, 2e-6")
    page.get_by_role("button", name="Submit sweep").click()
    page.wait_for_url(re.compile(r"#/\?sweep=[0-9a-f]{32}$"))

    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_have_attribute("data-status", "succeeded", timeout=WAIT_MS)
        rows.nth(i).get_by_role("checkbox").check()
    expect(page.locator(".sweep")).to_contain_text("2 succeeded")
    # The sweep card's plot: the best relative excess loss, a point per finished trial.
    best = page.locator(".sweep figure.best svg path[data-series='best so far']")
    expect(best).to_have_attribute("d", re.compile(r"^M[^M]*L[^ML]*$"))  # 2 points, one line
    page.get_by_role("button", name="Compare selected (2)").click()

    page.wait_for_url(re.compile(r"#/compare\?ids="))
    expect(page.locator("figure.overlay svg path[data-series]")).to_have_count(2)
    table = page.locator("table.compare")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("thead")).to_contain_text("learning_rate")  # the one parameter that differs
    expect(table.locator("tr.best")).to_have_count(1)


def test_a_refused_submission_shows_the_problem_detail_at_its_field(stack, page):
    page.goto(f"{stack.client.base}/#/submit")
    page.fill("input[name='params.steps']", "lots")
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#error")).to_contain_text("422")
    expect(page.locator("#error")).to_contain_text("params.steps: must be an integer")
    expect(page.locator("input[name='params.steps']")).to_have_attribute("aria-invalid", "true")
    assert page.url.endswith("#/submit")


def test_an_unstable_learning_rate_is_accepted_with_the_warning_shown_on_the_form(stack, page):
    page.goto(f"{stack.client.base}/#/submit")
    page.select_option("select[name=variant]", "tensor")
    expect(page.locator(".about")).to_contain_text("Stable for learning_rate up to 3.558e-6 at 2000 points")
    page.fill("input[name='params.learning_rate']", "1e-5")
    page.fill("input[name='params.steps']", "300")
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator(".warnings .notice")).to_contain_text("learning_rate 1e-05 is above 3.55795e-06")
    link = page.locator(".warnings a")
    expect(link).to_contain_text("was accepted")
    assert page.url.endswith("#/submit")  # stays on the form, so the warning is read
    link.click()
    page.wait_for_url(re.compile(r"#/jobs/[0-9a-f]{32}$"))
    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "diverged", timeout=WAIT_MS)


@pytest.fixture(scope="module")
def guarded(stack, tmp_path_factory, pg_url, redis_url):
    """(base URL, a valid token) of an API with AUTH on, on the stack's database: its worker runs the jobs."""
    tmp = tmp_path_factory.mktemp("guarded")
    env = clean_env(DATABASE_URL=pg_url, REDIS_URL=redis_url, PORT=free_port(), DATA_DIR=tmp, AUTH="on",
                    API_WORKERS=1)
    made = subprocess.run([sys.executable, "-m", "service.cli.main", "token", "create",
                           f"browser-{secrets.token_hex(4)}"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    api = Process("api", env, tmp / "api.log")
    client = Client(f"http://127.0.0.1:{env['PORT']}")
    try:
        client.wait_healthy()
        yield client.base, made.stdout.strip()
    finally:
        api.stop()


def test_with_tokens_on_the_page_asks_for_one_keeps_it_and_works(guarded, page):
    base, token = guarded
    assert requests.get(f"{base}/api/v1/jobs", timeout=10).status_code == 401
    page.goto(f"{base}/")
    form = page.locator("#token-form")
    expect(form).to_be_visible()
    expect(page.locator("#token-reason")).to_contain_text("needs a token")

    page.fill("#token-input", "fitq_00000000_" + "x" * 43)  # well formed, but no such token
    page.get_by_role("button", name="Use this token").click()
    expect(page.locator("#token-reason")).to_contain_text("not valid")

    page.fill("#token-input", token)
    page.get_by_role("button", name="Use this token").click()
    expect(form).to_be_hidden()
    expect(page.locator("table.jobs")).to_be_visible()
    assert page.evaluate("localStorage.getItem('fitq.token')") == token
    # The bar says what this token may do: its owner (the token's name by default) and its scopes.
    expect(page.locator("#whoami")).to_have_text(re.compile(r"^browser-[0-9a-f]{8}: read, submit$"))

    page.goto(f"{base}/#/submit")  # a new load: the stored token is used, nothing is asked
    page.fill("input[name='params.steps']", "300")
    page.get_by_role("button", name="Submit job").click()
    page.wait_for_url(re.compile(r"#/jobs/[0-9a-f]{32}$"))
    expect(form).to_be_hidden()
    expect(page.locator("[data-status]").first).to_have_text("succeeded", timeout=WAIT_MS)
    # The plots are fetched with the token (an <img src> could not send it) and drawn in the page.
    expect(page.locator("figure.loss svg path[data-series='loss']")).to_have_count(1)
    expect(page.locator("figure.fit svg path")).to_have_count(2)
