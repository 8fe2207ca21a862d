"""docs/client.md's tour runs as written: every python block, in order, in one namespace, against a
live API and worker on PostgreSQL and Redis."""
import importlib.util
import re
from pathlib import Path

import pytest

from service.store.migrate import upgrade
from tests.integration.faults import Faults

TOUR = Path(__file__).resolve().parents[2] / "docs" / "client.md"
PANDAS = importlib.util.find_spec("pandas") is not None


def blocks():
    """The tour's python code blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", TOUR.read_text(), flags=re.S | re.M)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pg_databases, redis_url):
    """API, worker and the sweeper, which the tour's search needs to ask its trials."""
    url = pg_databases()
    upgrade(url)
    s = Faults(tmp_path_factory.mktemp("tour"), url, redis_url)
    yield s
    s.close()


def test_the_tour_has_every_section():
    code = "\n".join(blocks())
    for call in ("Client(", ".submit(", ".wait(", ".history(", ".sweep(", ".search(", ".jobs(", ".cancel(",
                 "FitqError"):
        assert call in code, call


def test_the_tour_runs_against_a_live_stack(stack, monkeypatch, capsys):
    monkeypatch.setenv("FITQ_URL", stack.client.base)
    monkeypatch.delenv("FITQ_TOKEN", raising=False)
    namespace = {}
    for number, code in enumerate(blocks(), 1):
        if "to_dataframe" in code and not PANDAS:
            # Without pandas the block's first line fails as the tour says it does.
            with pytest.raises(ImportError, match="pip install pandas"):
                exec(compile(code, f"{TOUR.name} block {number}", "exec"), namespace)
            continue
        exec(compile(code, f"{TOUR.name} block {number}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert namespace["job"].status == "succeeded"
    # Streamed or polled, the callback hears of changes only, in order, and last of the end.
    heard = [line.split("  loss=")[0] for line in printed.splitlines() if "/500  " in line]
    assert heard[-1] == "500/500  succeeded" and heard.count("500/500  succeeded") == 1, heard
    steps = [int(line.split("/")[0]) for line in heard]
    assert steps == sorted(steps) and "queued" not in " ".join(heard[1:]), heard
    assert namespace["long"].status == "cancelled" and "cancelled" in printed
    assert namespace["sweep"].finished and namespace["sweep"].size == 3
    search = namespace["search"]
    assert search.finished and search.size == 8 and search.document["search"]["ended"] == "trials"
    trials = [job.result.relative_excess_loss for job in search.jobs() if job.status == "succeeded"]
    assert len(trials) == 8 and namespace["nearest"].result.relative_excess_loss == min(trials)
