"""Whatever a client sends to POST /api/v1/jobs, the answer is never a 5xx, and a bad body writes nothing."""
import json

import pytest

pytestmark = pytest.mark.usefixtures("redis_db")


def _params(text):
    return b'{"variant":"numpy","params":' + text.encode() + b"}"


HOSTILE = {
    # Nesting deep enough to exhaust a recursive parser, still far under the 64 KiB body limit.
    "deep-arrays": b"[" * 20_000 + b"]" * 20_000,
    "deep-objects": b'{"a":' * 8_000 + b"1" + b"}" * 8_000,
    "deep-params": _params('{"x":' * 8_000 + "1" + "}" * 8_000),
    "deep-variant": b'{"variant":' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    # Numbers no float or bounded integer can hold.
    "lr-10**400": _params('{"learning_rate":' + str(10**400) + "}"),
    "lr--10**400": _params('{"learning_rate":-' + str(10**400) + "}"),
    "steps-10**400": _params('{"steps":' + str(10**400) + "}"),
    "seed-10**400": _params('{"seed":' + str(10**400) + "}"),
    "steps-5000-digits": _params('{"steps":' + "9" * 5_000 + "}"),
    "lr-1e-400": _params('{"learning_rate":1e-400}'),
    "steps-1e400": _params('{"steps":1e400}'),
    "nan-everywhere": _params('{"steps":NaN,"samples":Infinity,"learning_rate":-Infinity}'),
    "seed-negative-zero": _params('{"seed":-0.0}'),
    # Strings that look like a variant to a human.
    "variant-accented": json.dumps({"variant": "n\u00fcmpy"}).encode(),
    "variant-nul": json.dumps({"variant": "numpy\u0000"}).encode(),
    "variant-zero-width": json.dumps({"variant": "num\u200bpy"}).encode(),
    "variant-lone-surrogate": b'{"variant":"\\ud800"}',
    "variant-huge": json.dumps({"variant": "a" * 60_000}).encode(),
    "variant-object": json.dumps({"variant": {"name": "numpy"}}).encode(),
    "variant-array": json.dumps({"variant": ["numpy", "lstsq"]}).encode(),
    "emoji-field": json.dumps({"variant": "numpy", "\U0001f680": 1}).encode(),
    "param-key-lone-surrogate": _params('{"\\udfff":1}'),
    # Structures where a value should be.
    "nested-params": _params('{"params":{"steps":10}}'),
    "steps-object": _params('{"steps":{"value":10}}'),
    "dtype-array": _params('{"dtype":["float64"]}'),
    "device-object": _params('{"device":{"cuda":true}}'),
    "many-unknown-params": _params("{" + ",".join(f'"k{i}":{i}' for i in range(3_000)) + "}"),
    # Encodings and bytes.
    "utf16-body": '{"variant":"nope"}'.encode("utf-16"),
    "nul-bytes": b"\x00" * 100,
    "binary": bytes(range(256)),
    "bom-then-array": b"\xef\xbb\xbf[]",
    "just-null": b"null",
}


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_never_a_server_error_never_a_row(submit, rows, raw):
    response = submit(raw)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert rows() == 0

