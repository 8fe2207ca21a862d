"""The API process answers requests without importing torch or numpy (its image installs neither): the
listing, history, compare (its optimum), predict and the SVG plots are plain Python too."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]

SCRIPT = textwrap.dedent("""
    import sys
    from service.app import create_app
    from service.store.migrate import upgrade
    from service.settings import Settings
    from tests.unit.service.stored import result, store

    data_dir = sys.argv[1]
    url = f"sqlite:///{data_dir}/t.db"
    upgrade(url)
    app = create_app(Settings.from_env({}, database_url=url, redis_url=sys.argv[2],
                                       data_dir=data_dir))
    client = app.test_client()
    statuses = [
        client.get("/api/v1/variants").status_code,
        client.post("/api/v1/jobs", json={"variant": "tensor", "params": {"steps": 0}}).status_code,
        client.post("/api/v1/jobs", json={"variant": "tensor", "params": {"device": "cuda"}}).status_code,
        client.get("/api/v1/jobs").status_code,
        client.get("/readyz").status_code,
        client.get("/api/v1/openapi.json").status_code,
    ]
    job = store(app, "dynamic", params={"samples": 1234},
                outcome=result(polynomial=[0.0, 0.85, 0.0, -0.09, 0.001, 0.0005]))
    other = store(app, "lstsq", outcome=result(history=[]))
    statuses += [client.get(url).status_code for url in (
        "/api/v1/jobs?order_by=final_loss&status=succeeded,failed&param.samples=1234"
        "&created_after=2020-01-01T00:00:00Z",
        f"/api/v1/jobs/{job}/history?max_points=3&format=csv",
        f"/api/v1/jobs/{job}/predict?x=0.5,1",
        f"/api/v1/compare?ids={job},{other}",
        f"/api/v1/jobs/{job}/plots/loss.svg",
        f"/api/v1/jobs/{job}/plots/fit.svg",
        f"/api/v1/plots/losses.svg?ids={job},{other}",
        "/",
        "/docs",
    )]
    print(statuses)
    print(sorted(m for m in ("torch", "numpy") if m in sys.modules))
""")


@pytest.mark.usefixtures("redis_db")
def test_api_never_imports_torch_or_numpy(tmp_path, redis_url):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), redis_url], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    statuses, imported = done.stdout.strip().splitlines()[-2:]
    assert statuses == "[200, 422, 202, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]"
    assert imported == "[]", f"the API imported {imported}"
