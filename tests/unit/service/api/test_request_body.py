"""POST /api/v1/jobs with a body that is not a JSON object, or too big to read: 4xx, nothing written."""
import pytest

pytestmark = pytest.mark.usefixtures("redis_db")


@pytest.mark.parametrize("raw", [
    b'{"variant": "numpy"',
    b'{"variant": "numpy", "params": {"steps": 10}',
    b'{"variant": ',
    b"{",
    b"{'variant': 'numpy'}",
    b'{"variant": "numpy",}',
    b'{"variant": "numpy"} trailing',
    b"variant=numpy",
    b'{"variant": "numpy", "params": {"steps": 0x10}}',
], ids=["truncated", "truncated-params", "no-value", "brace", "single-quotes", "trailing-comma",
        "trailing-text", "form-encoded", "hex-number"])
def test_malformed_json(submit, problem, rows, raw):
    problem(submit(raw), 400, "body")
    assert rows() == 0


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n\t \r\n"], ids=["empty", "spaces", "whitespace"])
def test_empty_body(submit, problem, rows, raw):
    problem(submit(raw), 400, "body")
    assert rows() == 0


def test_no_body_and_no_content_type(client, problem, rows):
    problem(client.post("/api/v1/jobs"), 415, "Content-Type")
    assert rows() == 0


@pytest.mark.parametrize("raw", [
    b'[{"variant": "numpy"}]', b"[]", b'"numpy"', b"42", b"-1.5", b"true", b"null",
], ids=["array", "empty-array", "string", "int", "float", "bool", "null"])
def test_body_that_is_not_an_object(submit, problem, rows, raw):
    problem(submit(raw), 400, "body")
    assert rows() == 0


@pytest.mark.parametrize("raw", [
    b'{"variant": "\xff\xfe"}',
    b'{"variant": "nump\xc3"}',
    b"\xff" * 16,
    b'{"variant": "numpy", "params": {"dtype": "\xed\xa0\x80"}}',
], ids=["ff-fe", "cut-sequence", "all-ff", "encoded-surrogate"])
def test_invalid_utf8(submit, problem, rows, raw):
    problem(submit(raw), 400, "body")
    assert rows() == 0


def test_body_over_the_default_limit(settings, submit, problem, rows):
    padding = b" " * settings.max_body_bytes
    problem(submit(b'{"variant": "numpy"' + padding + b"}"), 413)
    assert rows() == 0


def test_body_over_a_configured_limit(make_app, problem, rows):
    client = make_app(max_body_bytes=256).test_client()
    body = {"variant": "numpy", "params": {"dtype": "float64"}, "x": "y" * 300}
    problem(client.post("/api/v1/jobs", json=body), 413)
    assert rows() == 0


def test_body_just_under_a_configured_limit_is_read(make_app, problem, rows):
    """The limit bounds the size, not the content: an invalid body under it gets the usual 422."""
    client = make_app(max_body_bytes=256).test_client()
    problem(client.post("/api/v1/jobs", json={"variant": "nope"}), 422, "variant")
    assert rows() == 0
