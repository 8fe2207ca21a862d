"""The dashboard at /: one page and its own files, open without a token, loading nothing from elsewhere."""
import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from service.web import dashboard

REPO = Path(__file__).resolve().parents[4]
STATIC = REPO / "service" / "web" / "static"
# An absolute URL anywhere in what we serve; SVG's namespace name is an identifier, never fetched.
URL = re.compile(r"https?://[^\s\"'<>()]*")
NAMESPACES = {"http://www.w3.org/2000/svg"}
# Ways to put text into a page as markup, or to run text as code: the dashboard uses none of them.
UNSAFE = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
                    r"setTimeout\(\s*['\"`]")


class Page(HTMLParser):
    """The tags of an HTML page: (tag, attributes, text inside) in order."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append([tag, dict(attrs), ""])

    def handle_data(self, data):
        if self.tags:
            self.tags[-1][2] += data


def external_urls(text):
    return [u for u in URL.findall(text) if u not in NAMESPACES]


def policy(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    parts = (p.split() for p in response.headers["Content-Security-Policy"].split(";") if p.strip())
    return {name: sources for name, *sources in parts}


def test_the_page_is_html_with_a_strict_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_page_has_no_inline_script_style_or_handler(client):
    tags = Page(client.get("/").get_data(as_text=True)).tags
    scripts = [(attrs, body) for tag, attrs, body in tags if tag == "script"]
    assert scripts and all(attrs.get("src") and not body.strip() for attrs, body in scripts)
    assert not any(tag == "style" for tag, _, _ in tags)
    assert not [(tag, name) for tag, attrs, _ in tags for name in attrs if name == "style" or name.startswith("on")]


def test_every_file_the_page_and_its_scripts_load_is_served_with_its_type(client):
    tags = Page(client.get("/").get_data(as_text=True)).tags
    wanted = {attrs.get("src") or attrs.get("href") for tag, attrs, _ in tags if tag in ("script", "link")}
    for source in [STATIC / name for name in dashboard.ASSETS if name.endswith(".js")]:
        wanted |= {f"assets/{m}" for m in re.findall(r'from "\./([\w.]+)"', source.read_text())}
    assert {"assets/app.js", "assets/list.js", "assets/dashboard.css"} <= wanted
    for path in wanted:
        response = client.get(f"/{path}")
        assert response.status_code == 200, path
        assert response.mimetype == dashboard.ASSETS[path.removeprefix("assets/")]


@pytest.mark.parametrize("name", sorted(dashboard.ASSETS))
def test_each_asset_is_served_as_its_type_and_not_sniffed(client, name):
    response = client.get(f"/assets/{name}")
    assert response.status_code == 200
    assert response.mimetype == dashboard.ASSETS[name]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == (STATIC / name).read_bytes()


def test_nothing_served_names_another_host(client):
    served = {"/": client.get("/"), "/docs": client.get("/docs"),
              **{f"/assets/{n}": client.get(f"/assets/{n}") for n in dashboard.ASSETS}}
    for path, response in served.items():
        assert response.status_code == 200, path
        assert external_urls(response.get_data(as_text=True)) == [], path


def test_the_scripts_never_turn_text_into_markup_or_code():
    for name in (n for n in dashboard.ASSETS if n.endswith(".js")):
        assert UNSAFE.findall((STATIC / name).read_text()) == [], name


@pytest.mark.parametrize("path", ["/assets/nothing.js", "/assets/index.html", "/assets/..%2Fdashboard.py",
                                  "/assets/%2E%2E"])
def test_anything_else_under_assets_is_a_404_problem(client, problem, path):
    problem(client.get(path), 404)


def test_with_tokens_on_the_page_and_its_files_need_none_and_are_not_rate_limited(make_app, redis_db):
    # redis_db: an empty Redis, so no earlier test's requests count against this minute's limit.
    client = make_app(auth="on", rate_limit_per_minute=1).test_client()
    for _ in range(3):
        for path in ["/", "/docs", "/assets/app.js", "/assets/dashboard.css"]:
            response = client.get(path)
            assert response.status_code == 200, path
            assert "RateLimit-Limit" not in response.headers
    assert client.get("/api/v1/jobs").status_code == 401  # what the page reads stays guarded


def test_an_installed_fitq_carries_every_file_it_serves():
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["service.web"]
    shipped = [p for p in (REPO / "service" / "web").glob("*/*") if p.parent.name in ("static", "templates")]
    assert {"index.html", "app.js", "reference.html"} <= {p.name for p in shipped}
    for path in shipped:
        relative = path.relative_to(REPO / "service" / "web").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    assert set(dashboard.ASSETS) <= {p.name for p in shipped}
