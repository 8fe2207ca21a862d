"""Schemathesis fuzzes the live API (gunicorn, a real worker, PostgreSQL) from its own OpenAPI document.

To run it by hand against any fitq: st --config-file tests/integration/schemathesis.toml run URL
where URL is http://HOST:PORT/api/v1/openapi.json.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service.store.migrate import upgrade
from tests.integration.conftest import Stack, flush

CONFIG = Path(__file__).with_name("schemathesis.toml")
# No tokens and no rate limit (the fuzzer sends hundreds of requests a second); short job budgets
# keep the worker, which runs every job the fuzzer submits, from starving the API of the two cores.
ENV = {"AUTH": "off", "RATE_LIMIT_PER_MINUTE": 0, "DEFAULT_TIMEOUT_S": 10, "MAX_TIMEOUT_S": 10}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory, pg_databases, redis_url):
    """A running API + worker on a database of its own: the hundreds of jobs it makes stay there."""
    database = pg_databases()
    upgrade(database)
    s = Stack(tmp_path_factory.mktemp("fuzz"), database, redis_url, extra_env=ENV)
    yield s
    s.close()
    flush(redis_url)  # the jobs still queued, which no other stack's database knows


def test_the_api_keeps_to_its_openapi_document(fuzz_stack, tmp_path):
    url = f"http://127.0.0.1:{fuzz_stack.port}/api/v1/openapi.json"
    operations = sum(len(p) for p in fuzz_stack.client.http.get(url).json()["paths"].values())

    done = subprocess.run([sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
                           "--no-color", "run", url],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)

    output = done.stdout + done.stderr
    print(output[output.find("SUMMARY"):])  # shown with pytest -rP
    assert done.returncode == 0, output[-12000:]
    # Schemathesis skips the document's own route; every other operation must have been tested.
    assert re.search(rf"Tested: {operations - 1}\b", output), output[-3000:]
    assert fuzz_stack.api.proc.poll() is None and fuzz_stack.worker.proc.poll() is None
