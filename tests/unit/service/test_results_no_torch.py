"""Querying, history, compare, predict and plots answer without importing torch or numpy (the API image
installs neither): the optimum, the downsampling and the SVG are plain Python."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent("""
    import sys
    from service.app import create_app
    from service.migrate import upgrade
    from service.settings import Settings
    from tests.unit.service.stored import result, store

    data_dir = sys.argv[1]
    url = f"sqlite:///{data_dir}/t.db"
    upgrade(url)
    app = create_app(Settings.from_env({}, database_url=url, redis_url=sys.argv[2], data_dir=data_dir))
    client = app.test_client()
    job = store(app, "dynamic", params={"samples": 1234},
                outcome=result(polynomial=[0.0, 0.85, 0.0, -0.09, 0.001, 0.0005]))
    other = store(app, "lstsq", outcome=result(history=[]))
    statuses = [client.get(url).status_code for url in (
        "/api/v1/jobs?order_by=final_loss&status=succeeded,failed&param.samples=1234"
        "&created_after=2020-01-01T00:00:00Z",
        f"/api/v1/jobs/{job}/history?max_points=3&format=csv",
        f"/api/v1/jobs/{job}/predict?x=0.5,1",
        f"/api/v1/compare?ids={job},{other}",
        f"/api/v1/jobs/{job}/plots/loss.svg",
        f"/api/v1/jobs/{job}/plots/fit.svg",
        f"/api/v1/plots/losses.svg?ids={job},{other}",
    )]
    print(statuses)
    print(sorted(m for m in ("torch", "numpy") if m in sys.modules))
""")


@pytest.mark.usefixtures("redis_db")
def test_results_never_import_torch_or_numpy(tmp_path, redis_url):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), redis_url], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    statuses, imported = done.stdout.strip().splitlines()[-2:]
    assert statuses == "[200, 200, 200, 200, 200, 200, 200]"
    assert imported == "[]", f"the API imported {imported}"
