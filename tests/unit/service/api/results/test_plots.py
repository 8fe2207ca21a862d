"""The SVG plots: well-formed, and what they draw is the stored data (coordinates parsed back)."""
import math
import re
import xml.etree.ElementTree as ET

import pytest

from fits import dynamic, legendre
from service.api.results.polynomial import value
from tests.unit.service.stored import result, store

NS = {"svg": "http://www.w3.org/2000/svg"}


def _svg(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return ET.fromstring(response.get_data())  # raises unless well-formed


def _texts(root):
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def _series(root, label):
    """The data points the path labelled `label` draws, one list per subpath, mapped back through
    the plot's axes (data-area, data-x-domain, data-y-domain, data-y-scale)."""
    plot = root.find(".//svg:g[@class='plot']", NS)
    left, top, width, height = map(float, plot.get("data-area").split())
    x0, x1 = map(float, plot.get("data-x-domain").split())
    y0, y1 = map(float, plot.get("data-y-domain").split())
    log = plot.get("data-y-scale") == "log"
    if log:
        y0, y1 = math.log10(y0), math.log10(y1)
    (path,) = [p for p in plot.findall("svg:path", NS) if p.get("data-series") == label]
    runs = []
    for sub in re.findall(r"M[^M]*", path.get("d")):
        points = [(float(a), float(b)) for a, b in re.findall(r"(-?[\d.]+),(-?[\d.]+)", sub)]
        runs.append([(x0 + (px - left) / width * (x1 - x0),
                      (lambda v: 10 ** v if log else v)(y0 + (top + height - py) / height * (y1 - y0)))
                     for px, py in points])
    return runs, (top, top + height), (y1 - y0) / height


def test_a_loss_curve_is_the_history_on_a_log_scale(app, client):
    history = [{"step": 100 * i + 99, "loss": 1000.0 * 0.7 ** i + 8.8} for i in range(20)]
    job = store(app, "custom_function", outcome=result(history=history, final_loss=history[-1]["loss"]))
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/loss.svg"))
    (run,), _, per_pixel = _series(root, "loss")
    assert [round(x) for x, _ in run] == [p["step"] for p in history]
    for (_, y), p in zip(run, history):
        assert math.log10(y) == pytest.approx(math.log10(p["loss"]), abs=per_pixel)  # within 1/100 px
    assert {"1", "10", "100", "1000", "10000"} >= set(_texts(root)) & {"1", "10", "100", "1000", "10000"}
    assert {"10", "1000"} <= set(_texts(root)) and "step" in _texts(root)
    assert any("log scale" in t for t in _texts(root))


def test_a_divergence_breaks_the_curve_and_is_said(app, client):
    history = [{"step": 9, "loss": 50.0}, {"step": 19, "loss": 500.0}, {"step": 29, "loss": None}]
    job = store(app, status="diverged", outcome=result(history=history, final_loss=None))
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/loss.svg"))
    (run,), _, _ = _series(root, "loss")
    assert [round(x) for x, _ in run] == [9, 19]
    assert "diverged, the loss was not finite by step 29" in _texts(root)


LEGENDRE = [0.0, -2.2085268, 0.0, 0.2554861]
CASES = {
    "tensor": [0.01, 0.85, -0.002, -0.093],
    "custom_function": legendre.power_basis(LEGENDRE),  # the Legendre form, expanded
    "dynamic": dynamic.expected_polynomial([0.02, 0.8, -0.01, -0.08, 0.001]),  # orders up to 5
    "lstsq": [0.0, 0.8567408430737841, 0.0, -0.09333038904059883],
}


@pytest.mark.parametrize("variant", CASES)
def test_the_fit_is_drawn_through_its_polynomial_next_to_sine(app, client, variant):
    polynomial = CASES[variant]
    job = store(app, variant, outcome=result(polynomial=polynomial, history=[] if variant == "lstsq" else None))
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/fit.svg"))
    label = f"{variant} {'expected fit over the random order' if variant == 'dynamic' else 'fit'}"
    (fit,), _, per_pixel = _series(root, label)
    (sine,), _, _ = _series(root, "sin(x)")
    assert len(fit) == len(sine) == 241
    assert fit[0][0] == pytest.approx(-math.pi, abs=0.01) and fit[-1][0] == pytest.approx(math.pi, abs=0.01)
    for x, y in fit:
        assert y == pytest.approx(value(polynomial, x), abs=2 * per_pixel)
    for x, y in sine:
        assert y == pytest.approx(math.sin(x), abs=2 * per_pixel)
    legend = [g.find("svg:title", NS).text for g in root.findall(".//svg:g[@class='legend']", NS)]
    assert legend == ["sin(x)", label]
    assert "\u03c0/2" in _texts(root) and "-\u03c0" in _texts(root)


def test_a_fit_that_leaves_the_chart_is_cut_at_its_edge(app, client):
    job = store(app, outcome=result(polynomial=[0.0, 1.0, 0.0, 5.0]))  # 5x^3 reaches 155 at pi
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/fit.svg"))
    runs, (top, bottom), per_pixel = _series(root, "tensor fit")
    assert len(runs) == 1
    plot = root.find(".//svg:g[@class='plot']", NS)
    low, high = map(float, plot.get("data-y-domain").split())
    assert -20 <= low and high <= 20  # about FIT_LIMIT, rounded out; the fit reaches 155
    assert runs[0][0][1] == pytest.approx(low, abs=per_pixel) and runs[0][-1][1] == pytest.approx(high, abs=per_pixel)
    inside = [(x, y) for x, y in runs[0][1:-1]]
    assert all(y == pytest.approx(value([0.0, 1.0, 0.0, 5.0], x), abs=2 * per_pixel) for x, y in inside)
    assert any("leaves the chart" in t for t in _texts(root))


def test_a_fit_with_no_finite_coefficients_draws_sine_alone(app, client):
    job = store(app, status="diverged", outcome=result(polynomial=[None, None, 1.0, None], final_loss=None))
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/fit.svg"))
    assert _series(root, "tensor fit")[0] == []
    assert len(_series(root, "sin(x)")[0][0]) == 241
    assert any("not finite" in t for t in _texts(root))


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled"])
@pytest.mark.parametrize("plot", ["loss", "fit"])
def test_without_a_result_the_plot_says_so(app, client, status, plot):
    job = store(app, status=status)
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/{plot}.svg"))
    assert root.find(".//svg:g[@class='plot']", NS) is None
    assert f"job {job} is {status}: no result" + ("" if status in ("failed", "cancelled") else " yet") \
        in _texts(root)


def test_lstsq_has_no_curve_but_its_loss(app, client):
    job = store(app, "lstsq", outcome=result(history=[], final_loss=8.817165410007027))
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/loss.svg"))
    assert "no loss history: lstsq solves in one step (loss 8.81717)" in _texts(root)


def test_an_overlay_has_a_distinct_line_and_a_legend_entry_per_job(app, client):
    ids = [store(app, params={"learning_rate": 1e-6 * (i + 1), "seed": 7}, outcome=result(
        history=[{"step": 99, "loss": 100.0 + i}, {"step": 199, "loss": 10.0 + i}])) for i in range(12)]
    waiting = store(app, status="queued", params={"learning_rate": 5e-6, "seed": 7})
    root = _svg(client.get("/api/v1/plots/losses.svg?ids=" + ",".join(ids + [waiting])))
    paths = root.findall(".//svg:g[@class='plot']/svg:path", NS)
    styles = [(p.get("stroke"), p.get("stroke-dasharray")) for p in paths]
    assert len(paths) == 13 and len(set(styles)) == 13
    assert len({stroke for stroke, _ in styles[:10]}) == 10  # the first ten differ by colour alone
    legend = [g.find("svg:title", NS).text for g in root.findall(".//svg:g[@class='legend']", NS)]
    # Each entry names what sets the job apart: its learning rate; the seed is the same for all.
    assert legend[0] == f"tensor {ids[0][-6:]} learning_rate=1e-06"
    assert legend[-1] == f"tensor {waiting[-6:]} learning_rate=5e-06 (job {waiting} is queued: no result yet)"
    for i in range(len(ids)):
        (run,), _, per_pixel = _series(root, legend[i])
        assert [round(x) for x, _ in run] == [99, 199]
        assert math.log10(run[1][1]) == pytest.approx(math.log10(10.0 + i), abs=per_pixel)
    assert _series(root, legend[-1])[0] == []


@pytest.mark.parametrize("query,status,field", [
    ("", 400, "ids"), ("ids=abc", 400, "ids"), ("ids=" + ",".join(f"{i:032x}" for i in range(21)), 400, "ids"),
    (f"ids={'0' * 32}", 404, "ids"), ("ids=x&y=1", 400, "y"),
])
def test_bad_overlays(client, problem, query, status, field):
    problem(client.get(f"/api/v1/plots/losses.svg?{query}"), status, field)


def test_unknown_job_and_unknown_parameter(app, client, problem):
    problem(client.get(f"/api/v1/jobs/{'0' * 32}/plots/fit.svg"), 404, "id")
    problem(client.get(f"/api/v1/jobs/{store(app)}/plots/loss.svg?width=3"), 400, "width")


def _reference(root):
    """The optimum's line as drawn: its data value and its value read back through the y axis."""
    plot = root.find(".//svg:g[@class='plot']", NS)
    lines = plot.findall("svg:line[@class='reference']", NS)
    if not lines:
        return None
    (line,) = lines
    _, top, _, height = map(float, plot.get("data-area").split())
    y0, y1 = (math.log10(float(v)) for v in plot.get("data-y-domain").split())
    return float(line.get("data-reference")), 10 ** (y0 + (top + height - float(line.get("y1"))) / height * (y1 - y0))


def _measured(history, best=8.817165410007027):
    final = history[-1]["loss"]
    return {**result(history=history, final_loss=final), "optimum_loss": best,
            "excess_loss": None if final is None else final - best}


def test_the_loss_curve_draws_the_optimum_as_a_reference_line(app, client):
    history = [{"step": 99, "loss": 5000.0}, {"step": 199, "loss": 40.0}]  # above the optimum throughout
    job = store(app, outcome=_measured(history))
    root = _svg(client.get(f"/api/v1/jobs/{job}/plots/loss.svg"))
    stored, drawn = _reference(root)
    assert stored == 8.817165410007027 and drawn == pytest.approx(stored, rel=0.01)  # the axis takes it in
    assert "least-squares optimum 8.81717" in _texts(root)


def test_no_reference_line_without_a_stored_optimum_or_across_different_ones(app, client):
    old = store(app, outcome=result())  # written before the worker stored the optimum
    assert _reference(_svg(client.get(f"/api/v1/jobs/{old}/plots/loss.svg"))) is None
    history = [{"step": 99, "loss": 100.0}, {"step": 199, "loss": 10.0}]
    same = [store(app, outcome=_measured(history)) for _ in range(2)]
    other = store(app, params={"samples": 500}, outcome=_measured(history, best=2.2))
    assert _reference(_svg(client.get("/api/v1/plots/losses.svg?ids=" + ",".join(same))))[0] == 8.817165410007027
    assert _reference(_svg(client.get("/api/v1/plots/losses.svg?ids=" + ",".join([*same, other])))) is None
