"""Who is calling and what it may do: each token acts for an owner with scopes; jobs and sweeps belong
to their submitter's owner. With AUTH off every caller is one implicit owner with every scope."""
from dataclasses import dataclass

from flask import current_app, g, request

from service.api.problems import Problem, problem_response
from service.store import tokens

LOCAL_OWNER = "local"  # the implicit owner with AUTH off: it owns what is submitted then
ALL_SCOPES = frozenset(tokens.SCOPES)
# Endpoints any valid token may call whatever its scopes: the probes' twins and whoami.
ANY_SCOPE = frozenset({"api.healthz", "api.readyz", "api.whoami", "api.openapi"})
METRICS = frozenset({"monitoring.prometheus"})


@dataclass(frozen=True)
class Caller:
    """The owner a request acts for, its scopes, and its token (None with AUTH off)."""

    owner: str
    scopes: frozenset
    token_id: str | None = None
    token_name: str | None = None

    def may(self, scope: str) -> bool:
        """Whether it holds `scope`; admin holds every scope."""
        return scope in self.scopes or "admin" in self.scopes


def from_token(row) -> Caller:
    """The caller a verified token row acts as."""
    return Caller(row.owner, frozenset(row.scopes.split()), row.id, row.name)


def caller() -> Caller:
    """This request's caller: from its token, else (AUTH off, or a public route) the implicit owner."""
    return g.get("caller") or Caller(LOCAL_OWNER, ALL_SCOPES)


def needed() -> str | None:
    """The scope this request needs: metrics for /metrics, submit for a POST, read for any other."""
    endpoint = request.endpoint
    if endpoint in METRICS:
        return "metrics"
    if endpoint is None or endpoint in ANY_SCOPE or not request.path.startswith("/api/v1/"):
        return None  # no such route (its 404 tells nothing), or not under /api/v1
    return "submit" if request.method == "POST" else "read"


def check():
    """Before a request, after the token was accepted: 403 if its scopes do not cover the route."""
    if not current_app.extensions["fitq"].settings.auth_required:
        return None
    scope, who = needed(), caller()
    if scope is None or who.may(scope):
        return None
    return problem_response(403, f"token {who.token_id} ({who.token_name}) has the scopes "
                                 f"{', '.join(sorted(who.scopes))}; {request.method} {request.path[:100]} "
                                 f"needs {scope!r} (or admin): create a token with `fitq token create NAME "
                                 f"--scopes {scope}`", field="Authorization")


def sees_all() -> bool:
    """Whether this caller reads every owner's jobs: admin, or any reader when SHARE_READS is on."""
    who = caller()
    return who.may("admin") or current_app.extensions["fitq"].settings.share_reads == "on"


def readable_owner() -> str | None:
    """The owner a listing keeps to, or None for every owner's."""
    return None if sees_all() else caller().owner


def visible(row) -> bool:
    """Whether the caller may see this job or sweep (others are answered as if they did not exist)."""
    return row is not None and (sees_all() or row.owner == caller().owner)


def may_change(row) -> None:
    """Raise 403 unless the caller owns `row` or is an admin (reading it may be shared; cancelling is not)."""
    who = caller()
    if row.owner != who.owner and not who.may("admin"):
        raise Problem(403, f"job {row.id} belongs to another owner; only it or an admin token may cancel it",
                      field="id")


def whoami() -> dict:
    """What the caller may do, as GET /api/v1/whoami answers it."""
    who, settings = caller(), current_app.extensions["fitq"].settings
    return {"auth": settings.auth_required, "owner": who.owner, "scopes": sorted(who.scopes),
            "token": None if who.token_id is None else {"id": who.token_id, "name": who.token_name},
            "sees_all_owners": sees_all(), "shared_reads": settings.share_reads == "on"}
