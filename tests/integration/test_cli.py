"""The `fitq` client commands as a user runs them: the installed executable, over HTTP, against a real
API, worker and PostgreSQL; with tokens on, against a second API process on the same database."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.processes import Client, Process, clean_env, free_port

FITQ = Path(sys.executable).with_name("fitq")  # .venv/bin/fitq, as `pip install -e .` made it
SMALL = ("-p", "steps=200", "-p", "samples=200")


def fitq(*args, env=None, timeout=120):
    """Run `fitq ARGS` outside the checkout, without FITQ_URL/FITQ_TOKEN unless `env` sets them."""
    assert FITQ.exists(), f"{FITQ} is missing: pip install -e . in the virtualenv"
    base = {k: v for k, v in os.environ.items() if k not in ("FITQ_URL", "FITQ_TOKEN")}
    return subprocess.run([str(FITQ), *args], env={**base, **(env or {})}, cwd="/", capture_output=True,
                          text=True, timeout=timeout)


def record(stdout):
    """The `label  value` lines of a job's table as a dict."""
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in stdout.splitlines() if "  " in line)


def one_line_error(done, code):
    """Assert the command failed with `code` and one line on stderr; return that line."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "", done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("fitq: "), done.stderr
    return done.stderr.strip()


@pytest.fixture(scope="module")
def url(stack):
    return stack.client.base


@pytest.fixture(scope="module")
def waited(stack, url):
    """`fitq submit tensor ... --wait` run once, and the job as GET /jobs/<id> has it."""
    done = fitq("submit", "tensor", *SMALL, "-p", "seed=1", "-p", "learning_rate=2e-6", "-p", "device=cpu",
                "--wait", "--url", url)
    assert done.returncode == 0, done.stderr
    return done, stack.client.job(record(done.stdout)["job"])


def test_submit_wait_prints_the_result_table_the_api_agrees_with(waited):
    done, job = waited
    table = record(done.stdout)
    assert job["status"] == "succeeded" and table["status"] == "succeeded"
    # --param values that parse as JSON are sent as numbers, the rest as text.
    params = job["params"]
    assert (params["learning_rate"], params["seed"], params["device"]) == (2e-6, 1, "cpu")
    assert float(table["final loss"]) == pytest.approx(job["result"]["final_loss"], rel=1e-7)
    assert float(table["duration"].removesuffix(" s")) == pytest.approx(job["result"]["duration_s"], abs=1e-3)
    assert table["device"] == job["device"] == "cpu"
    assert table["formula"] == job["result"]["formula"]
    shown = dict(c.split("=") for c in table["coefficients"].split())
    assert {k: pytest.approx(float(v), rel=1e-7) for k, v in shown.items()} == job["result"]["coefficients"]
    # stderr is no terminal here: plain progress lines, the last at the end of the fit.
    assert done.stderr.splitlines()[-1].startswith(f"job {job['id']} succeeded: 200/200 (100%) after ")


def test_on_a_terminal_the_bar_is_redrawn_in_place(url):
    # `script` gives fitq a pseudo-terminal, as a person's shell would.
    command = f"stty cols 120; {FITQ} submit tensor -p steps=20000 -p samples=200 -p log_every=500 --wait " \
              f"--url {url}"
    done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, timeout=120, cwd="/")
    text = done.stdout.decode()
    assert done.returncode == 0, text
    job_id = re.search(r"fitq: waiting for job ([0-9a-f]{32}) \(Ctrl-C stops only the waiting\)", text)[1]
    # One row redrawn: each draw starts with \r and clears the rest of the row; the bar keeps its width.
    bars = re.findall(rf"\rjob {job_id}  \[[#-]{{30}}\] +\d+%  \d+/20000  [0-9.]+s  \w+\x1b\[K", text)
    assert len(bars) >= 2 and bars[-1].startswith(f"\rjob {job_id}  [" + "#" * 30 + "] 100%  20000/20000  ")
    assert text.count("\r") - text.count("\r\n") == len(bars)
    assert record(text.split("\x1b[K")[-1].replace("\r\n", "\n"))["status"] == "succeeded"


def test_jobs_lists_filters_and_sorts(waited, url):
    _, job = waited
    # The database is shared with the other test modules: only jobs from this one's first on count.
    done = fitq("jobs", "--variant", "tensor", "--status", "succeeded", "-p", "seed=1",
                "--created-after", job["created_at"], "--url", url)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split()[:3] == ["ID", "VARIANT", "STATUS"]
    assert [r.split()[:4] for r in rows] == [[job["id"], "tensor", "succeeded", "200/200"]]
    assert f"{job['result']['final_loss']:.8g}" in rows[0]

    fitq("submit", "tensor", *SMALL, "-p", "seed=2", "--wait", "--url", url)
    best_first = fitq("jobs", "--sort", "final_loss", "--limit", "1", "--url", url)
    assert best_first.returncode == 0 and len(best_first.stdout.splitlines()) == 2
    assert "more jobs match than these 1; raise --limit" in best_first.stderr
    none = fitq("jobs", "--status", "cancelled", "--variant", "lstsq", "--url", url)
    assert none.returncode == 0 and none.stderr == "fitq: no job matches\n"


def test_show_prints_the_job_readably(waited, url):
    _, job = waited
    done = fitq("show", job["id"], "--url", url)
    assert done.returncode == 0, done.stderr
    table = record(done.stdout)
    assert (table["job"], table["status"], table["progress"]) == (job["id"], "succeeded", "step 200 of 200")
    assert "seed=1" in table["params"].split() and "learning_rate=2e-06" in table["params"].split()
    assert table["history"] == "2 points, step 99 to 199"
    assert len(table["polynomial"].split()) == 4 and table["worker"] == job["worker"]


def test_compare_puts_two_jobs_side_by_side(waited, stack, url):
    _, first = waited
    submitted = fitq("submit", "autograd", *SMALL, "-p", "seed=1", "--url", url)
    assert submitted.returncode == 0, submitted.stderr
    second = stack.client.wait(submitted.stdout.strip())
    assert f"fitq: job {second['id']} queued" in submitted.stderr

    done = fitq("compare", first["id"], second["id"], "--url", url)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[1:]}
    assert done.stdout.splitlines()[0].split() == [first["id"], second["id"]]
    assert rows["variant"] == ["tensor", "autograd"] and rows["learning_rate"] == ["2e-06", "1e-06"]
    api = stack.client.http.get(f"{url}/api/v1/compare", params={"ids": f"{first['id']},{second['id']}"})
    items = api.json()["items"]
    assert [float(v) for v in rows["final"][1:]] == pytest.approx([i["final_loss"] for i in items], rel=1e-7)
    assert [float(v) for v in rows["gap"]] == pytest.approx([i["gap"] for i in items], rel=1e-6)
    assert rows["optimum"][1] == rows["optimum"][2]  # the same data: the same floor


def test_sweep_wait_prints_the_best_job(stack, url):
    done = fitq("sweep", "tensor", *SMALL, "-p", "seed=0", "--grid", "learning_rate=1e-6,2e-6,4e-6",
                "--wait", "--url", url)
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[0]
    sweep_id = summary.split()[1].rstrip(":")
    assert summary == f"sweep {sweep_id}: 3 jobs, 3 succeeded"
    best = stack.client.http.get(f"{url}/api/v1/sweeps/{sweep_id}").json()["best"]
    table = record(done.stdout.split("best:\n", 1)[1])
    assert table["job"] == best["job_id"] and table["status"] == "succeeded"
    assert float(table["final loss"]) == pytest.approx(best["final_loss"], rel=1e-7)
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"sweep {sweep_id} 3 succeeded: 3/3 (100%) after "), last


def test_a_diverged_job_prints_its_error_and_exits_1(url):
    done = fitq("submit", "tensor", *SMALL, "-p", "learning_rate=10", "--wait", "--url", url)
    assert done.returncode == 1, done.stderr
    table = record(done.stdout)
    assert table["status"] == "diverged" and table["error"].startswith("diverged: ")


def test_cancel_stops_a_job_and_refuses_a_finished_one_in_one_line(waited, stack, url):
    _, finished = waited
    refused = fitq("cancel", finished["id"], "--url", url)
    assert one_line_error(refused, 3) == \
        f"fitq: id: job {finished['id']} already succeeded; nothing to cancel"

    long_job = stack.client.submit("tensor", steps=1_000_000, samples=100, log_every=1000)
    done = fitq("cancel", long_job["id"], "--url", url)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"job {long_job['id']} cancelled at step \d+ of 1000000\n", done.stdout)
    assert stack.client.job(long_job["id"])["status"] == "cancelled"


def test_ctrl_c_stops_waiting_not_the_job(stack, url):
    # As from a terminal: a suite started in the background (`make test &`, nohup) ignores SIGINT, and
    # a child inherits that, so Python would never raise KeyboardInterrupt and the wait would go on.
    proc = subprocess.Popen([str(FITQ), "submit", "tensor", "-p", "steps=1000000", "-p", "samples=100",
                             "-p", "log_every=1000", "--wait", "--url", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd="/",
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = proc.stderr.readline()  # the first progress line: it is waiting
    job_id = first.split()[1]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert f"fitq: stopped waiting; job {job_id} goes on: `fitq show {job_id}` to look it up again" in err
    assert stack.client.job(job_id)["status"] in ("queued", "running")
    assert fitq("cancel", job_id, "--url", url).returncode == 0


def test_a_wait_rides_out_an_api_restart(stack, url):
    proc = subprocess.Popen([str(FITQ), "submit", "tensor", "-p", "steps=300000", "-p", "samples=200",
                             "-p", "log_every=1000", "--wait", "--url", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd="/")
    proc.stderr.readline()  # it is waiting
    stack.stop_api()
    time.sleep(1.5)  # at least one poll finds nobody listening
    stack.start_api()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    # Refused, or reset by the stopping server: either way one line, once.
    notes = re.findall(rf"^fitq: cannot reach fitq at {url}: .+; trying again for up to 60 s$", err, re.M)
    assert len(notes) == 1, err
    assert record(out)["status"] == "succeeded"


def test_bad_input_gives_the_problems_detail_in_one_line(url):
    assert one_line_error(fitq("submit", "nosuch", "--url", url), 3).startswith(
        "fitq: variant: unknown variant 'nosuch'; known: autograd, ")
    assert one_line_error(fitq("submit", "tensor", "-p", "steps=true", "--url", url), 3) == \
        "fitq: params.steps: must be an integer, got a boolean"
    assert one_line_error(fitq("show", "0" * 32, "--url", url), 3) == f"fitq: id: no job with id {'0' * 32!r}"
    usage = fitq("submit", "tensor", "-p", "steps", "--url", url)
    assert usage.returncode == 2 and "'steps' is not NAME=VALUE" in usage.stderr


def test_an_unreachable_api_gives_one_line(url):
    port = free_port()
    assert one_line_error(fitq("jobs", env={"FITQ_URL": f"http://127.0.0.1:{port}"}), 3) == \
        f"fitq: cannot reach fitq at http://127.0.0.1:{port}: Connection refused"


@pytest.fixture(scope="module")
def guarded(stack, tmp_path_factory):
    """A second API on the stack's database and Redis with AUTH=on (the stack's worker runs its jobs),
    and a token made with `fitq token create`."""
    tmp, port = tmp_path_factory.mktemp("guarded"), free_port()
    env = clean_env(DATABASE_URL=stack.env["DATABASE_URL"], REDIS_URL=stack.env["REDIS_URL"], PORT=port,
                    DATA_DIR=tmp, API_WORKERS=1, AUTH="on")
    api = Process("api", env, tmp / "api.log")
    try:
        Client(f"http://127.0.0.1:{port}").wait_healthy()
        made = subprocess.run([str(FITQ), "token", "create", "cli-test"], env=env, cwd="/",
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        yield f"http://127.0.0.1:{port}", made.stdout.strip()
    finally:
        api.stop()


def test_with_tokens_on_a_missing_token_says_how_to_pass_one(guarded):
    base, _ = guarded
    line = one_line_error(fitq("jobs", "--url", base), 3)
    assert line.startswith("fitq: Authorization: missing: this API needs a token")
    assert line.endswith("pass a token with --token TOKEN or the FITQ_TOKEN environment variable "
                         "(made on the server with `fitq token create NAME`)")
    wrong = one_line_error(fitq("jobs", "--url", base, "--token", "fitq_00000000_" + "x" * 43), 3)
    assert wrong.startswith("fitq: the token was refused: ")


def test_with_tokens_on_token_and_fitq_token_both_work(guarded):
    base, token = guarded
    listed = fitq("jobs", "--url", base, "--token", token)
    assert listed.returncode == 0, listed.stderr
    done = fitq("submit", "tensor", *SMALL, "--wait", env={"FITQ_URL": base, "FITQ_TOKEN": token})
    assert done.returncode == 0, done.stderr
    assert record(done.stdout)["status"] == "succeeded"
    assert token not in done.stdout + done.stderr + listed.stdout + listed.stderr
