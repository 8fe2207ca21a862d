"""What a probe of the API tried: chunked bodies past the limit, echoed text, giant integers, repeated
keys, redirects and the plots' own policy; each refused or bounded."""
import io
import json

import pytest

from tests.unit.service.stored import store

pytestmark = pytest.mark.usefixtures("redis_db")


def chunked(client, body, path="/api/v1/jobs"):
    """POST `body` as a server that reads chunked transfer encoding hands it on: no Content-Length."""
    return client.post(path, input_stream=io.BytesIO(body), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_past_the_limit_is_a_413_not_cut(make_app, problem, rows):
    client = make_app(max_body_bytes=256).test_client()
    body = b'{"variant": "lstsq"' + b" " * 300 + b', "params": {"nope": 1}}'
    problem(chunked(client, body), 413)
    assert rows() == 0


def test_a_chunked_body_at_the_limit_is_read(make_app, rows):
    client = make_app(max_body_bytes=256).test_client()
    body = b'{"variant": "lstsq"}'
    assert chunked(client, body.ljust(256)).status_code == 202
    assert rows() == 1


def test_a_content_length_one_past_the_limit_is_a_413(make_app, problem, rows):
    client = make_app(max_body_bytes=256).test_client()
    problem(client.post("/api/v1/jobs", data=b'{"variant": "lstsq"}'.ljust(257), content_type="application/json"), 413)
    assert rows() == 0


@pytest.mark.parametrize("body", [
    {"variant": "a" * 60_000},
    {"variant": "lstsq", "x" * 60_000: 1},
    {"variant": "numpy", "params": {"y" * 60_000: 1}},
    {"variant": "numpy", "params": {"dtype": "z" * 60_000}},
    {"variant": "tensor", "params": {}, "grid": {"w" * 60_000: [1]}},
], ids=["variant", "field", "param-name", "param-value", "grid-name"])
def test_echoed_text_is_cut(submit, client, body):
    path = "/api/v1/sweeps" if "grid" in body else "/api/v1/jobs"
    response = client.post(path, json=body) if "grid" in body else submit(body)
    assert 400 <= response.status_code < 500
    answer = response.get_json()
    assert len(answer["detail"]) <= 600 and len(answer.get("field", "")) <= 200, answer


def test_a_long_query_parameter_name_is_cut(client):
    answer = client.get("/api/v1/jobs", query_string={"q" * 3000: "1"}).get_json()
    assert len(answer["detail"]) <= 600 and len(answer["field"]) <= 200


@pytest.mark.parametrize("digits", [31, 4_300, 4_301, 20_000])
@pytest.mark.parametrize("where", ["steps", "seed", "timeout_s", "grid"])
def test_a_giant_integer_gets_a_plain_bounds_message(client, problem, rows, digits, where):
    number = "9" * digits
    body = {"steps": f'{{"variant":"numpy","params":{{"steps":{number}}}}}',
            "seed": f'{{"variant":"numpy","params":{{"seed":-{number}}}}}',
            "timeout_s": f'{{"variant":"numpy","timeout_s":{number}}}',
            "grid": f'{{"variant":"numpy","grid":{{"steps":[1,{number}]}}}}'}[where]
    path = "/api/v1/sweeps" if where == "grid" else "/api/v1/jobs"
    answer = problem(client.post(path, data=body.encode(), content_type="application/json"), 422, "body")
    assert f"{digits:,} digits" in answer["detail"]
    assert "set_int_max_str_digits" not in answer["detail"] and "Exceeds the limit" not in answer["detail"]
    assert rows() == 0


@pytest.mark.parametrize("raw, key", [
    (b'{"variant": "numpy", "variant": "lstsq"}', "variant"),
    (b'{"variant": "numpy", "params": {"steps": 10, "steps": 20}}', "steps"),
    (b'{"variant": "tensor", "grid": {"seed": [1], "seed": [2]}}', "seed"),
], ids=["top", "params", "grid"])
def test_a_key_sent_twice_is_a_400_naming_it(client, problem, rows, raw, key):
    path = "/api/v1/sweeps" if b"grid" in raw else "/api/v1/jobs"
    answer = problem(client.post(path, data=raw, content_type="application/json"), 400, "body")
    assert repr(key) in answer["detail"] and "twice" in answer["detail"]
    assert rows() == 0


@pytest.mark.parametrize("path", ["/api/v1//variants", "/assets//app.js", "/api/v1//jobs?limit=1"])
def test_a_redirect_points_at_the_base_url_not_the_host(make_app, path):
    client = make_app(allowed_hosts="*", base_url="https://fitq.example").test_client()
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 308
    location = response.headers["Location"]
    assert location.startswith("https://fitq.example/") and "evil" not in location
    assert location.endswith(path.replace("//", "/"))


def test_without_a_base_url_a_redirect_points_at_host_and_port(make_app):
    client = make_app(host="127.0.0.1", port=8123).test_client()
    response = client.get("/api/v1//variants", headers={"Host": "localhost"})
    assert response.headers["Location"] == "http://127.0.0.1:8123/api/v1/variants"


@pytest.mark.parametrize("plot", ["loss.svg", "fit.svg"])
def test_a_plot_has_a_strict_policy_of_its_own(app, client, plot):
    job = store(app)
    for path in (f"/api/v1/jobs/{job}/plots/{plot}", f"/api/v1/plots/losses.svg?ids={job}"):
        response = client.get(path)
        assert response.status_code == 200
        policy = {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split("; ")}
        assert policy["default-src"] == ["'none'"] and "script-src" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_problem_body_is_json_with_a_bounded_detail(submit):
    answer = json.loads(submit({"variant": "\u00e9" * 10_000}).get_data())
    assert len(answer["detail"]) <= 600
