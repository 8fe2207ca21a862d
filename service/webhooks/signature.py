"""The Fitq-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body"> under WEBHOOK_SECRET."""
import hashlib
import hmac

HEADER = "Fitq-Signature"


def sign(secret: str, body: bytes, t: int) -> str:
    """The header value for `body` sent at unix time `t`."""
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance_s` of `now` (replays of
    an old delivery are refused)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, t), f"t={t},v1={fields.get('v1', '')}")
