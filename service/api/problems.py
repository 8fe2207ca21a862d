"""RFC 9457 problem+json answers, and the error handlers that make every error one."""
from http import HTTPStatus

from flask import jsonify
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
# Client text echoed in a field or detail is cut here: a 60 KB name need not come back whole.
MAX_FIELD = 200
MAX_DETAIL = 600  # our own longest detail (the listing's allowed parameters) is under 400


class Problem(Exception):
    """An error answer: raise it from a route and the client gets problem+json."""

    def __init__(self, status, detail, field=None, title=None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.field, self.title, self.extra = status, detail, field, title, extra


def problem_response(status, detail, field=None, title=None, **extra):
    """A problem+json response."""
    if field is not None:
        field = _cut(field, MAX_FIELD)
        detail = detail if detail.startswith(field) else f"{field}: {detail}"
    body = {"type": "about:blank", "title": title or HTTPStatus(status).phrase, "status": status,
            "detail": _cut(detail, MAX_DETAIL)}
    if field is not None:
        body["field"] = field
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    return response


def _cut(text, most):
    return text if len(text) <= most else text[:most - 3] + "..."


def register(app):
    """Turn every error, ours or werkzeug's, into problem+json."""

    @app.errorhandler(Problem)
    def _problem(err):
        return problem_response(err.status, err.detail, err.field, err.title, **err.extra)

    @app.errorhandler(HTTPException)
    def _http(err):
        response = problem_response(err.code, err.description)
        allow = err.get_response().headers.get("Allow")
        if allow:  # a 405 says which methods the URL takes
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database(err):
        app.logger.warning("database error: %s", err)
        return problem_response(503, "the database is unavailable; try again shortly")

    @app.errorhandler(Exception)
    def _unexpected(err):
        app.logger.exception("unhandled error")
        return problem_response(500, "internal error; the request was not completed")
