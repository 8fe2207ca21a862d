"""GET /docs: the OpenAPI document as a browsable page, rendered on the server, with no script."""
import pytest
from flask import render_template

from service.web import reference
from tests.unit.service.web.test_dashboard import Page, policy


@pytest.fixture
def page(client):
    """(the API's OpenAPI document, the reference page's tags)."""
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    return client.get("/api/v1/openapi.json").get_json(), Page(response.get_data(as_text=True)).tags


def ids(tags):
    return {attrs["id"] for _, attrs, _ in tags if "id" in attrs}


def test_the_page_runs_no_script_and_loads_only_its_stylesheet(client, page):
    _, tags = page
    csp = policy(client.get("/docs"))
    assert csp["default-src"] == ["'none'"] and csp["style-src"] == ["'self'"]
    assert not [tag for tag, _, _ in tags if tag in ("script", "iframe", "img", "object")]
    assert [attrs["href"] for tag, attrs, _ in tags if tag == "link" and attrs["rel"] == "stylesheet"] == \
        ["assets/reference.css"]


def test_every_operation_of_the_document_has_its_section(page):
    doc, tags = page
    operations = {(method.upper(), path, op["operationId"])
                  for path, item in doc["paths"].items() for method, op in item.items()}
    assert len(operations) > 20
    sections = {attrs["id"]: i for i, (tag, attrs, _) in enumerate(tags) if tag == "section" and "id" in attrs}
    for method, path, operation_id in operations:
        assert operation_id in sections, operation_id
        heading = tags[sections[operation_id] + 1:sections[operation_id] + 4]
        assert [method, path] == [heading[1][2].strip(), heading[2][2].strip()], heading
    contents = {attrs["href"] for tag, attrs, _ in tags if tag == "a" and attrs.get("href", "").startswith("#")}
    assert {f"#{operation_id}" for _, _, operation_id in operations} <= contents


def test_every_parameter_schema_and_problem_is_on_the_page(page):
    doc, tags = page
    text = " ".join(body for _, _, body in tags)
    for item in doc["paths"].values():
        for op in item.values():
            assert all(p["name"] in text for p in op["parameters"])
    assert {f"schema-{name}" for name in doc["components"]["schemas"]} <= ids(tags)
    assert {f"response-{code}" for code in doc["components"]["responses"]} <= ids(tags)


def test_every_link_within_the_page_leads_somewhere(page):
    _, tags = page
    links = {attrs["href"][1:] for tag, attrs, _ in tags if tag == "a" and attrs.get("href", "").startswith("#")}
    assert links and links <= ids(tags)


def test_the_submission_shows_each_variant_and_its_bounds(page):
    _, tags = page
    text = " ".join(body for _, _, body in tags)
    assert "one of: custom_function" in text and "one of: lstsq" in text
    assert "integer, from 1 to 200, default 50" in text  # the listing's limit


def test_what_the_document_says_is_escaped_not_obeyed(app):
    doc = {"openapi": "3.1.0", "info": {"title": "<b>fitq</b>", "version": "1", "description": "<script>x()</script>"},
           "paths": {"/x": {"get": {"operationId": "x", "summary": "<img src=a onerror=b()>", "parameters": [],
                                    "responses": {}, "security": []}}},
           "components": {"schemas": {}, "responses": {}, "securitySchemes": {}}}
    with app.test_request_context():
        html = render_template("reference.html", doc=doc, operations=reference.operations(doc), schemas={})
    assert "<script>x()" not in html and "&lt;script&gt;x()" in html
    assert "<img" not in html and "<b>fitq" not in html


@pytest.mark.parametrize("schema,words,target", [
    ({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "integer, from 1 to 200, default 50", None),
    ({"type": "number", "exclusiveMinimum": 0, "maximum": 10}, "number, above 0 to 10", None),
    ({"$ref": "#/components/schemas/Job"}, "Job", "Job"),
    ({"type": "array", "items": {"$ref": "#/components/schemas/Job"}}, "array of Job", "Job"),
    ({"type": ["string", "null"], "enum": ["a", "b"]}, 'one of "a", "b"', None),
    ({"type": "object", "additionalProperties": {"type": ["number", "null"]}}, "object of number or null", None),
    ({"const": "ok"}, 'always "ok"', None),
    ({"type": "string", "minLength": 1, "maxLength": 200}, "string, 1 to 200 characters", None),
    ({"type": "object", "minProperties": 1}, "object, not empty", None),
])
def test_a_schema_in_a_few_words(schema, words, target):
    assert reference.summary(schema) == words
    assert reference.target(schema) == target
