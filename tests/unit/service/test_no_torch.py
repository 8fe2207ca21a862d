"""The API process answers requests without importing torch or numpy (its image installs neither)."""
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
    print(statuses)
    print(sorted(m for m in ("torch", "numpy") if m in sys.modules))
""")


@pytest.mark.usefixtures("redis_db")
def test_api_never_imports_torch_or_numpy(tmp_path, redis_url):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), redis_url], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    statuses, imported = done.stdout.strip().splitlines()[-2:]
    assert statuses == "[200, 422, 202, 200, 200, 200]"
    assert imported == "[]", f"the API imported {imported}"
