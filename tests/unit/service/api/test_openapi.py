"""GET /api/v1/openapi.json: a valid OpenAPI document of every route, built from the request checks."""
import jsonschema_rs
import pytest
import schemathesis

from fits import catalog
from fits.params import MAX_HISTORY_POINTS, MAX_LEARNING_RATE, MAX_SAMPLES, MAX_STEPS, MAX_STEPS_X_SAMPLES, SEED_LIMIT
from service.api import inputs, listing, openapi
from service.api.document import job_document
from service.store.models import Job, JobStatus

MAX_TIMEOUT_S = 1234


@pytest.fixture
def doc(client):
    """The document as the API serves it."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def validator(doc, name):
    """A JSON Schema validator for the document's component `name`."""
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                               "components": doc["components"]})


def component(doc, reference):
    """The schema a $ref names."""
    return doc["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]


def submission(doc, variant):
    """The variant's submission schema, its params object in place of the reference to it."""
    (schema,) = [component(doc, r) for r in doc["components"]["schemas"]["Submission"]["oneOf"]
                 if component(doc, r)["properties"]["variant"] == {"type": "string", "const": variant}]
    params, null = schema["properties"]["params"]["oneOf"]
    assert null == {"type": "null"}
    return {**schema, "properties": {**schema["properties"], "params": component(doc, params)}}


@pytest.mark.parametrize("kind", ["Submission", "SweepSubmission"])
def test_submissions_are_a_union_of_one_component_per_variant_told_apart_by_variant(doc, kind):
    # The shape client generators build models from (a oneOf of inline objects is dropped).
    union = doc["components"]["schemas"][kind]
    mapping = union["discriminator"]["mapping"]
    assert union["discriminator"]["propertyName"] == "variant" and sorted(mapping) == sorted(catalog.VARIANTS)
    assert union["oneOf"] == [{"$ref": mapping[name]} for name in sorted(catalog.VARIANTS)]
    for name, reference in mapping.items():
        assert component(doc, {"$ref": reference})["properties"]["variant"]["const"] == name


def test_the_document_is_valid_openapi(doc):
    assert doc["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(doc).validate()  # against the OpenAPI 3.1 meta-schema


def test_every_route_is_documented_and_nothing_else(app, doc):
    served = {(rule.rule.replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert documented == served
    assert {"/api/v1/openapi.json", "/healthz", "/api/v1/jobs/{job_id}/cancel"} <= {p for p, _ in served}


def test_a_route_missing_from_the_table_is_an_error_not_a_gap(app):
    app.add_url_rule("/api/v1/extra", "api.extra", lambda: "")
    with pytest.raises(LookupError, match="api.extra"):
        openapi.document(app)


def test_with_tokens_on_the_document_needs_none_and_says_where_one_is_needed(make_app):
    client = make_app(auth="on").test_client()
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    jobs = doc["paths"]["/api/v1/jobs"]["post"]
    assert jobs["security"] == [{"bearer": []}] and "401" in jobs["responses"]
    assert client.get("/api/v1/variants").status_code == 401


def test_with_tokens_off_no_operation_asks_for_one(doc):
    for item in doc["paths"].values():
        for op in item.values():
            assert op["security"] == [] and "401" not in op["responses"]


def test_the_variants_are_the_catalogue(doc):
    schemas = doc["components"]["schemas"]
    assert schemas["VariantName"]["enum"] == sorted(catalog.VARIANTS)
    consts = [component(doc, s)["properties"]["variant"]["const"] for s in schemas["Submission"]["oneOf"]]
    assert consts == sorted(catalog.VARIANTS)
    for name, variant in catalog.VARIANTS.items():
        params = submission(doc, name)["properties"]["params"]
        assert list(params["properties"]) == list(variant.params)
        assert params["additionalProperties"] is False
        assert params["properties"]["device"]["enum"] == list(variant.devices)
        assert params["properties"]["samples"]["minimum"] == variant.min_samples


def test_the_bounds_are_those_fits_params_checks(doc):
    tensor = submission(doc, "tensor")
    params = tensor["properties"]["params"]["properties"]
    assert params["learning_rate"] == {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_LEARNING_RATE,
                                       "default": 1e-6}
    assert (params["steps"]["minimum"], params["steps"]["maximum"]) == (1, MAX_STEPS)
    assert (params["samples"]["minimum"], params["samples"]["maximum"]) == (2, MAX_SAMPLES)
    assert params["seed"] == {"type": ["integer", "null"], "minimum": 0, "maximum": SEED_LIMIT - 1}
    assert params["log_every"]["maximum"] == MAX_STEPS
    assert params["dtype"]["enum"] == ["float32", "float64"]
    assert f"{MAX_STEPS_X_SAMPLES}" in tensor["properties"]["params"]["description"]
    assert f"{MAX_HISTORY_POINTS}" in tensor["properties"]["params"]["description"]
    assert tuple(tensor["properties"]) == inputs.SUBMIT_FIELDS
    assert submission(doc, "numpy")["properties"]["params"]["properties"]["device"]["enum"] == ["auto", "cpu"]


def test_the_listing_query_and_headers_are_those_inputs_checks(doc):
    query = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/jobs"]["get"]["parameters"]}
    assert tuple(query) == listing.LISTING_FIELDS
    assert query["limit"]["maximum"] == listing.MAX_LIMIT
    assert query["limit"]["default"] == listing.DEFAULT_LIMIT
    assert query["order_by"]["enum"] == list(listing.ORDERS)
    assert query["cursor"]["maxLength"] == listing.MAX_CURSOR
    assert doc["components"]["schemas"]["JobStatus"]["enum"] == [s.value for s in JobStatus]
    (key,) = doc["paths"]["/api/v1/jobs"]["post"]["parameters"]
    assert key["name"] == "Idempotency-Key"
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, inputs.MAX_KEY)


def test_timeout_follows_the_settings(make_app):
    doc = make_app(max_timeout_s=MAX_TIMEOUT_S).test_client().get("/api/v1/openapi.json").get_json()
    assert submission(doc, "numpy")["properties"]["timeout_s"]["maximum"] == MAX_TIMEOUT_S


def test_every_operation_documents_what_gunicorn_refuses_itself(doc):
    """Schemathesis found a 414 (text/html, from gunicorn) for a long query that no operation listed."""
    for code in ("414", "431"):
        assert "text/html" in doc["components"]["responses"][code]["content"]
        for item in doc["paths"].values():
            for op in item.values():
                assert op["responses"][code] == {"$ref": f"#/components/responses/{code}"}


def test_the_job_schema_lists_every_field_of_the_job_document(doc):
    fields = job_document(Job(progress_step=0, progress_steps=1))
    # ...and the warnings that only a submission's 202 carries (service/api/stability.py).
    assert list(doc["components"]["schemas"]["Job"]["properties"]) == [*fields, "warnings"]
    assert "warnings" not in doc["components"]["schemas"]["Job"]["required"]


LIMIT = MAX_TIMEOUT_S
VALID = [
    {"variant": "numpy"},
    {"variant": "lstsq", "params": {"samples": 4, "seed": None, "device": "cpu"}},
    {"variant": "custom_function", "timeout_s": LIMIT,
     "params": {"learning_rate": MAX_LEARNING_RATE, "steps": 5, "log_every": 5, "dtype": "float64",
                "seed": SEED_LIMIT - 1}},
    {"variant": "dynamic", "params": None, "timeout_s": None},
]
INVALID = [
    {},
    {"variant": "numpie"},
    {"variant": "numpy", "priority": 1},
    {"variant": "numpy", "params": {"device": "cuda"}},
    {"variant": "lstsq", "params": {"steps": 10}},
    {"variant": "lstsq", "params": {"samples": 3}},
    {"variant": "tensor", "params": {"learning_rate": 0}},
    {"variant": "tensor", "params": {"steps": True}},
    {"variant": "tensor", "params": {"seed": SEED_LIMIT}},
    {"variant": "tensor", "params": []},
    {"variant": "tensor", "timeout_s": LIMIT + 1},
    {"variant": "tensor", "timeout_s": 0},
]


@pytest.fixture
def submitted(make_app, redis_db):
    """post(body): POST /api/v1/jobs on an app whose MAX_TIMEOUT_S is LIMIT; returns (response, doc)."""
    client = make_app(max_timeout_s=LIMIT).test_client()
    doc = client.get("/api/v1/openapi.json").get_json()
    return lambda body: (client.post("/api/v1/jobs", json=body), doc)


@pytest.mark.parametrize("body", VALID, ids=lambda b: str(b)[:50])
def test_what_the_schema_allows_is_accepted_and_answered_as_documented(submitted, body):
    response, doc = submitted(body)
    assert validator(doc, "Submission").is_valid(body)
    assert response.status_code == 202, response.get_json()
    assert validator(doc, "Job").is_valid(response.get_json())


@pytest.mark.parametrize("body", INVALID, ids=lambda b: str(b)[:50])
def test_what_the_schema_refuses_is_refused_with_a_documented_problem(submitted, body):
    response, doc = submitted(body)
    assert not validator(doc, "Submission").is_valid(body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert validator(doc, "Problem").is_valid(response.get_json())


@pytest.mark.parametrize("query,status", [
    ({"limit": 200, "order_by": "created_at", "status": "queued", "variant": "numpy"}, 200),
    ({"limit": 0}, 400),
    ({"limit": 201}, 400),
    ({"status": "done"}, 400),
    ({"order_by": "id"}, 400),
    ({"cursor": "x" * 201}, 400),
])
def test_listing_queries_are_answered_as_the_schema_says(client, doc, query, status):
    schemas = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/jobs"]["get"]["parameters"]}
    valid = all(jsonschema_rs.Draft202012Validator({**schemas[name], "components": doc["components"]})
                .is_valid(value) for name, value in query.items())
    response = client.get("/api/v1/jobs", query_string=query)
    assert valid == (status == 200)
    assert response.status_code == status
    assert validator(doc, "Page" if valid else "Problem").is_valid(response.get_json())


def test_every_answer_body_of_a_real_exchange_fits_its_schema(client, doc, redis_db):
    job = client.post("/api/v1/jobs", json={"variant": "tensor"}).get_json()
    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel").get_json()
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel").get_json()
    page = client.get("/api/v1/jobs?limit=1").get_json()
    variants = client.get("/api/v1/variants").get_json()
    assert validator(doc, "Job").is_valid(cancelled)
    assert validator(doc, "Problem").is_valid(again) and again["job"]["status"] == "cancelled"
    assert validator(doc, "Page").is_valid(page) and page["next_cursor"] is None
    assert all(validator(doc, "Variant").is_valid(v) for v in variants)
    assert validator(doc, "Ready").is_valid(client.get("/readyz").get_json())
    assert validator(doc, "Health").is_valid(client.get("/api/v1/healthz").get_json())
