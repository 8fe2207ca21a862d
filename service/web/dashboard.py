"""The dashboard at /: one page, its scripts and its styles, all served by fitq and open without a token.

The page holds no data: its scripts read /api/v1 with the visitor's token (kept in their browser), so
what AUTH guards stays guarded. Every file comes from service/web/static; nothing is loaded from elsewhere.
"""
from functools import cache
from importlib.resources import files

from flask import Blueprint, Response

from service.api.openapi import HTML, TEXT, Operation
from service.api.problems import Problem

blueprint = Blueprint("dashboard", __name__)

STATIC = files("service.web") / "static"
JS, CSS, SVG = "text/javascript", "text/css", "image/svg+xml"
# The files /assets/<name> serves, and as what; anything else is a 404.
ASSETS = {
    "app.js": JS, "api.js": JS, "dom.js": JS, "list.js": JS, "job.js": JS, "compare.js": JS, "submit.js": JS,
    "dashboard.css": CSS, "reference.css": CSS, "favicon.svg": SVG,
}
# Scripts only from files served here (no inline script, no eval), data only from this origin; plots
# are SVG read with fetch (so they carry the token) and put into the page.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")


@blueprint.get("/")
def page():
    """The dashboard: jobs with live progress, a job's plots, compare, and a job or sweep form (HTML)."""
    return html(_read("index.html"), PAGE_POLICY)


page.operation = Operation(200, TEXT, media=HTML)


@blueprint.get("/assets/<name>")
def asset(name):
    """One of the dashboard's scripts, styles or icons."""
    if name not in ASSETS:
        raise Problem(404, f"no asset named {name[:60]!r}", field="name")
    response = Response(_read(name), mimetype=ASSETS[name])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"  # small files: always the ones this version ships
    return response


ASSET_PARAMETER = {"name": "name", "in": "path", "required": True,
                   "schema": {"type": "string", "enum": sorted(ASSETS)}}
asset.operation = Operation(200, TEXT, (404,), (ASSET_PARAMETER,), media=JS, also=((CSS, TEXT), (SVG, TEXT)))


def html(text, policy) -> Response:
    """An HTML answer with the headers a page of ours carries: its policy, no framing, no referrer."""
    response = Response(text, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@cache
def _read(name) -> str:
    return (STATIC / name).read_text(encoding="utf-8")
