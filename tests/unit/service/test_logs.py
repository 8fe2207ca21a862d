"""LOG_FORMAT=json: one JSON object a line, carrying the job id of the job a line is about."""
import json
import logging

import pytest

from service import logs
from service.settings import Settings


@pytest.fixture
def lines(capfd):
    """lines(): the JSON log lines written to stderr since the last call."""
    return lambda: [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]


@pytest.fixture
def json_logs():
    """Logging configured as LOG_FORMAT=json says, put back to text afterwards."""
    logs.configure(Settings(log_format="json"))
    yield
    logs.configure(Settings())


@pytest.mark.usefixtures("json_logs")
def test_a_line_has_time_level_logger_message_and_the_job_it_is_about(lines):
    log = logging.getLogger("fitq.test")
    log.info("plain")
    log.warning("job %s lost", "a" * 32, extra={"job_id": "a" * 32})
    with logs.about("b" * 32):
        log.info("inside a task")
        log.info("about another", extra={"job_id": "c" * 32})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")

    plain, lost, inside, other, failed = lines()

    assert set(plain) == {"ts", "level", "logger", "message"} and plain["ts"].endswith("Z")
    assert (plain["level"], plain["logger"], plain["message"]) == ("info", "fitq.test", "plain")
    assert (lost["level"], lost["job_id"], lost["message"]) == ("warning", "a" * 32, f"job {'a' * 32} lost")
    assert inside["job_id"] == "b" * 32 and other["job_id"] == "c" * 32
    assert "ValueError: boom" in failed["exc"]


def test_the_api_logs_each_queued_job_with_its_id(make_app, redis_db, lines):
    client = make_app(log_format="json").test_client()
    try:
        job = client.post("/api/v1/jobs", json={"variant": "lstsq"}).get_json()
        (queued,) = [line for line in lines() if line["logger"] == "service.api.routes"]
    finally:
        logs.configure(Settings())
    assert queued["job_id"] == job["id"] and queued["message"] == f"job {job['id']} queued: lstsq"


def test_text_is_the_default_and_other_formats_are_refused():
    assert Settings().log_format == "text"
    problems = Settings(log_format="xml").contradictions()
    assert any("LOG_FORMAT ('xml') must be text or json" in p for p in problems)
