"""The OpenAPI document describes the query, history, compare, predict and plot routes as they answer."""
import jsonschema_rs
import pytest

from service.api import listing
from service.api.results import routes as results
from tests.unit.service.stored import result, store


@pytest.fixture
def doc(client):
    """The document as the API serves it."""
    return client.get("/api/v1/openapi.json").get_json()


def valid(doc, schema, value):
    """Whether `value` fits `schema` (which may refer to the document's components)."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]}).is_valid(value)


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def test_every_answer_fits_its_schema(app, client, doc):
    job = store(app, "dynamic", outcome=result(polynomial=[0.0, 0.85, 0.0, -0.09, 0.001, 0.0005]))
    diverged = store(app, status="diverged", outcome=result(
        polynomial=[None, 1.0, None, 2.0], final_loss=None, history=[{"step": 9, "loss": None}]))
    queued = store(app, status="queued")
    assert valid(doc, _ref("History"), client.get(f"/api/v1/jobs/{diverged}/history").get_json())
    assert valid(doc, _ref("History"), client.get(f"/api/v1/jobs/{job}/history?max_points=2").get_json())
    assert valid(doc, _ref("Prediction"), client.get(f"/api/v1/jobs/{diverged}/predict?x=1,2").get_json())
    assert valid(doc, _ref("Prediction"), client.get(f"/api/v1/jobs/{job}/predict?x=1e99").get_json())
    assert valid(doc, _ref("Comparison"), client.get(f"/api/v1/compare?ids={job},{diverged},{queued}").get_json())
    assert valid(doc, _ref("Problem"), client.get(f"/api/v1/compare?ids={'0' * 32}").get_json())
    assert valid(doc, _ref("Page"), client.get("/api/v1/jobs?order_by=-final_loss&limit=1").get_json())


def test_each_route_lists_its_parameters_and_media_types(doc):
    paths = doc["paths"]
    history = paths["/api/v1/jobs/{job_id}/history"]["get"]
    assert set(history["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {p["name"] for p in history["parameters"]} == {"job_id", "max_points", "format"}
    assert "409" in history["responses"] and "409" in paths["/api/v1/jobs/{job_id}/predict"]["get"]["responses"]
    for path in ("/api/v1/jobs/{job_id}/plots/loss.svg", "/api/v1/jobs/{job_id}/plots/fit.svg",
                 "/api/v1/plots/losses.svg", "/api/v1/sweeps/{sweep_id}/plots/best.svg"):
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == ["image/svg+xml"]
    (ids,) = paths["/api/v1/compare"]["get"]["parameters"]
    assert ids["required"] and ids["schema"]["pattern"].endswith(f"{{0,{results.MAX_COMPARE - 1}}}$")
    listing_query = {p["name"]: p["schema"] for p in paths["/api/v1/jobs"]["get"]["parameters"]}
    assert listing_query["param.learning_rate"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 10.0,
                                                    "description": "the job's resolved learning_rate is exactly this"}
    assert listing_query["param.dtype"]["enum"] == ["float32", "float64"]
    assert listing_query["param.samples"]["minimum"] == 2


@pytest.mark.parametrize("name,value,ok", [
    ("status", "queued", True), ("status", "queued,failed", True), ("status", "queued,", False),
    ("status", "", False), ("param.seed", 3, True), ("param.seed", -1, False), ("param.device", "cuda", True),
    ("created_after", "2026-11-27T05:39:11Z", True),
])
def test_listing_parameters_accept_what_the_server_accepts(client, doc, name, value, ok):
    schema = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/jobs"]["get"]["parameters"]}[name]
    assert valid(doc, schema, value) == ok
    assert (client.get("/api/v1/jobs", query_string={name: value}).status_code == 200) == ok


def test_x_pattern_is_the_servers_number_syntax(doc):
    (x,) = [p for p in doc["paths"]["/api/v1/jobs/{job_id}/predict"]["get"]["parameters"] if p["name"] == "x"]
    for text, ok in [("1", True), ("-0.5,2e-3,.5", True), ("1,", False), ("nan", False), ("0x1", False)]:
        assert valid(doc, x["schema"], text) == ok
        assert bool(all(listing.NUMBER.fullmatch(t) for t in text.split(","))) == ok
