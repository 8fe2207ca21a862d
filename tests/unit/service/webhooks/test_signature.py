"""The Fitq-Signature header: an HMAC-SHA256 of "t.body" that a receiver checks, and replays fail."""
import hashlib
import hmac

from service.webhooks.signature import sign, verify

BODY = b'{"id": "abc", "status": "succeeded"}'


def test_the_header_is_t_and_the_hex_hmac_sha256_of_t_dot_body():
    header = sign("s3cret", BODY, 1700000000)
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_receiver_accepts_the_signed_body_and_nothing_else():
    header = sign("s3cret", BODY, 1700000000)
    assert verify("s3cret", header, BODY, now=1700000010)
    assert not verify("s3cret", header, BODY.replace(b"succeeded", b"failed"), now=1700000010)
    assert not verify("other", header, BODY, now=1700000010)
    assert not verify("s3cret", header.replace("t=1700000000", "t=1700000001"), BODY, now=1700000010)
    assert not verify("s3cret", "v1=" + header.split("v1=")[1], BODY, now=1700000010)
    assert not verify("s3cret", "garbage", BODY, now=1700000010)


def test_an_old_delivery_replayed_is_refused():
    header = sign("s3cret", BODY, 1700000000)
    assert not verify("s3cret", header, BODY, now=1700000000 + 301)
    assert verify("s3cret", header, BODY, now=1700000000 + 299, tolerance_s=300)
