"""GET /api/v1/variants: the nine variants, sorted by name, each with its defaults."""
NAMES = ["autograd", "custom_function", "dynamic", "lstsq", "module", "nn", "numpy", "optim", "tensor"]
LOOP = {"steps": 2000, "samples": 2000, "dtype": "float32", "device": "auto", "log_every": 100}


def _listing(client):
    response = client.get("/api/v1/variants")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_nine_variants_sorted_by_name(client):
    variants = _listing(client)
    assert [v["name"] for v in variants] == NAMES
    for v in variants:
        assert isinstance(v["title"], str) and v["title"]
        assert isinstance(v["description"], str) and v["description"]
        assert isinstance(v["defaults"], dict) and v["defaults"]


def test_defaults_are_the_designed_ones(client):
    defaults = {v["name"]: v["defaults"] for v in _listing(client)}
    assert defaults["numpy"] == {**LOOP, "learning_rate": 1e-6, "dtype": "float64", "device": "cpu"}
    for name in ("tensor", "autograd", "nn", "module"):
        assert defaults[name] == {**LOOP, "learning_rate": 1e-6}, name
    assert defaults["custom_function"] == {**LOOP, "learning_rate": 5e-6}
    assert defaults["optim"] == {**LOOP, "learning_rate": 1e-3}
    assert defaults["dynamic"] == {**LOOP, "learning_rate": 1e-8, "steps": 30000, "log_every": 2000}
    assert defaults["lstsq"] == {"samples": 2000, "dtype": "float32", "device": "auto"}


def test_listed_defaults_are_what_a_submission_gets(client, submit, redis_db):
    """What the catalogue promises is what a job without params runs with."""
    for v in _listing(client):
        params = submit({"variant": v["name"]}).get_json()["params"]
        params.pop("seed")
        assert params == v["defaults"], v["name"]
