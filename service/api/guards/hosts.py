"""The Host allow-list: a page that rebinds its own DNS name to this API's address gets nothing."""
from flask import current_app, request

from service.api.problems import Problem

# Orchestrators probe these by whatever address they know the process at (a pod's IP); they hold no data.
OPEN_PATHS = ("/healthz", "/readyz")


def name(host_header) -> str:
    """The host name of a Host header, lower case, without its port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def check():
    """Before a request: refuse a Host that ALLOWED_HOSTS (loopback names by default) does not name."""
    allowed = current_app.extensions["fitq"].settings.hosts
    if "*" in allowed or request.path in OPEN_PATHS:
        return None
    sent = request.headers.get("Host", "")
    if name(sent) not in allowed:
        # Only what the API answers to is said, not what would be let in: the list is the operator's.
        raise Problem(400, f"{sent[:100]!r} is not a host name this API answers to (ALLOWED_HOSTS)",
                      field="Host")
    return None
