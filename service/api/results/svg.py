"""Line charts as SVG text: axes with ticks and labels, a linear or log y axis, lines and a legend."""
import math
import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT, LEGEND_ROW = 640, 400, 18  # the legend goes below the chart, a row per line
LEFT, RIGHT, TOP, BOTTOM = 80, 28, 40, 52  # margins around the plot area
# d3's category10; past ten series the colours repeat dashed.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
FONT = 'font-family="sans-serif" font-size="12"'
BOLD = ' font-size="14" font-weight="bold"'


@dataclass(frozen=True)
class Series:
    """A line: (x, y) points, where a y of None (or not finite, or not positive on a log axis) breaks it."""

    label: str
    points: list
    index: int = 0  # picks the colour (and past ten, a dash)


@dataclass(frozen=True)
class Axis:
    """An axis's range, title and scale."""

    low: float
    high: float
    title: str
    log: bool = False
    ticks: tuple = ()  # (value, label) pairs; empty: round values chosen here
    whole: bool = False  # ticks on integers only

    def fraction(self, v: float) -> float:
        """Where v falls along the axis, 0 at low and 1 at high."""
        if self.log:
            return (math.log10(v) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (v - self.low) / (self.high - self.low)


def style(index: int) -> str:
    """The stroke of series `index`."""
    dash = ' stroke-dasharray="6 3"' if index // len(COLOURS) % 2 else ""
    return f'stroke={quoteattr(COLOURS[index % len(COLOURS)])}{dash}'


def linear_axis(values, title, pad=0.0, whole=False) -> Axis:
    """A linear axis over `values` with round ends; `whole` keeps its ticks on integers (steps)."""
    low, high = min(values) - pad, max(values) + pad
    if low == high:
        low, high = low - 1, high + 1
    step = max(_step(high - low), 1 if whole else 0)
    return Axis(math.floor(low / step) * step, math.ceil(high / step) * step, title, whole=whole)


def log_axis(values, title) -> Axis:
    """A log axis over positive `values`, from decade to decade."""
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    return Axis(10.0 ** low, 10.0 ** max(high, low + 1), title, log=True)


@dataclass(frozen=True)
class Reference:
    """A horizontal line at y = value across the plot, labelled (the least-squares optimum's loss)."""

    value: float
    label: str


def chart(title, x: Axis, y: Axis, series, notes=(), legend=True, reference: Reference | None = None) -> str:
    """The whole SVG document of a chart, with a dashed reference line if one is given."""
    height = HEIGHT + (LEGEND_ROW * len(series) + 8 if legend else 0)
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    area = f"{LEFT} {TOP} {w} {h}"
    # Ids unique to the chart, so that several charts inlined in one page do not share a clip.
    clip = f"fitq-clip-{zlib.crc32(title.encode()):08x}"
    parts = [_head(height, title),
             f'<clipPath id="{clip}"><rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}"/></clipPath>',
             f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#444"/>',
             *_x_ticks(x, w, h), *_y_ticks(y, w, h),
             _text(LEFT + w / 2, HEIGHT - 12, x.title, "middle"),
             _text(18, TOP + h / 2, y.title, "middle", f' transform="rotate(-90 18 {TOP + h / 2})"'),
             # The axes, for tools (and tests) that read the drawn points back as data.
             f'<g class="plot" clip-path="url(#{clip})" data-area="{area}" '
             f'data-x-domain="{x.low!r} {x.high!r}" data-y-domain="{y.low!r} {y.high!r}" '
             f'data-y-scale="{"log" if y.log else "linear"}">']
    for s in series:
        parts += _line(s, x, y, w, h)
    if reference is not None:
        parts += _reference(reference, y, w, h)
    parts.append("</g>")
    for i, note in enumerate(notes):
        parts.append(_text(LEFT + 8, TOP + 18 + 16 * i, note, "start", ' fill="#b00"'))
    if legend:
        parts += _legend(series)
    return "\n".join([*parts, "</svg>", ""])


def empty(title, message) -> str:
    """A chart with nothing to draw: its title and why."""
    return "\n".join([_head(HEIGHT, title), _text(WIDTH / 2, HEIGHT / 2, message, "middle", ' fill="#666"'),
                      "</svg>", ""])


def _head(height, title):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" {FONT}>\n<title>{escape(title)}</title>\n'
            f'<rect width="{WIDTH}" height="{height}" fill="white"/>\n'
            + _text(LEFT, 24, title, "start", BOLD))


def _text(x, y, content, anchor, more=""):
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{more}>{escape(content)}</text>'


def _step(span):
    # A round step (1, 2 or 5 times a power of ten) giving four to ten ticks.
    raw = span / 6
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _ticks(axis):
    if axis.ticks:
        return list(axis.ticks)
    if axis.log:
        low, high = round(math.log10(axis.low)), round(math.log10(axis.high))
        every = max(1, math.ceil((high - low) / 8))  # at most about eight labelled decades
        return [(10.0 ** k, f"{10.0 ** k:g}" if -3 <= k <= 5 else f"1e{k}")
                for k in range(low, high + 1, every)]
    step = max(_step(axis.high - axis.low), 1 if axis.whole else 0)
    count = round((axis.high - axis.low) / step)
    values = [axis.low + i * step for i in range(count + 1)]
    return [(v, "0" if abs(v) < step / 1e6 else f"{v:.6g}") for v in values]


def _x_ticks(x, w, h):
    for v, label in _ticks(x):
        px = LEFT + x.fraction(v) * w
        yield f'<line x1="{px:.2f}" y1="{TOP + h}" x2="{px:.2f}" y2="{TOP + h + 5}" stroke="#444"/>'
        yield _text(px, TOP + h + 18, label, "middle")


def _y_ticks(y, w, h):
    for v, label in _ticks(y):
        py = TOP + (1 - y.fraction(v)) * h
        yield f'<line x1="{LEFT - 5}" y1="{py:.2f}" x2="{LEFT + w}" y2="{py:.2f}" stroke="#ddd"/>'
        yield _text(LEFT - 8, py + 4, label, "end")


def _line(series, x, y, w, h):
    # One path per series: a new subpath after every break, and cut where it leaves the plot area
    # (drawing coordinates far outside it is slow or wrong in some renderers). A lone point gets a
    # dot, as a subpath of one point draws nothing.
    runs = [[]]
    for px, py in series.points:
        if py is None or not math.isfinite(py) or (y.log and py <= 0):
            runs.append([])
        else:
            runs[-1].append((LEFT + x.fraction(px) * w, TOP + (1 - y.fraction(py)) * h))
    runs = [piece for run in runs if run for piece in _clip(run, TOP, TOP + h)]
    d = " ".join("M" + " L".join(f"{a:.2f},{b:.2f}" for a, b in r) for r in runs)
    out = [f'<path data-series={quoteattr(series.label)} d="{d}" fill="none" stroke-width="1.8" '
           f'{style(series.index)}/>']
    colour = quoteattr(COLOURS[series.index % len(COLOURS)])
    out += [f'<circle cx="{r[0][0]:.2f}" cy="{r[0][1]:.2f}" r="3" fill={colour}/>'
            for r in runs if len(r) == 1]
    return out


def _reference(ref, y, w, h):
    py = TOP + (1 - y.fraction(ref.value)) * h
    yield (f'<line class="reference" data-reference="{ref.value!r}" x1="{LEFT}" y1="{py:.2f}" x2="{LEFT + w}" '
           f'y2="{py:.2f}" stroke="#555" stroke-width="1.2" stroke-dasharray="2 4"/>')
    # Above the line, unless the line hugs the top of the plot.
    yield _text(LEFT + w - 6, py - 6 if py - TOP > 20 else py + 16, ref.label, "end", ' fill="#555"')


def _clip(run, top, bottom):
    # The parts of a polyline between two horizontal edges, each crossing cut at the edge itself.
    def inside(p):
        return top <= p[1] <= bottom

    pieces, current = [], [run[0]] if inside(run[0]) else []
    for a, b in zip(run, run[1:]):
        cuts = sorted(((e - a[1]) / (b[1] - a[1]), e) for e in (top, bottom)
                       if (a[1] - e) * (b[1] - e) < 0)
        cuts = [(a[0] + t * (b[0] - a[0]), e) for t, e in cuts]
        if inside(a) and inside(b):
            current.append(b)
        elif inside(a):
            pieces.append(current + cuts[:1])
            current = []
        elif inside(b):
            current = cuts[-1:] + [b]
        elif len(cuts) == 2:  # from above to below (or back) in one step: it crosses the whole area
            pieces.append(cuts)
    return pieces + ([current] if current else [])


def _legend(series):
    x0 = LEFT
    for i, s in enumerate(series):
        py = HEIGHT + 4 + LEGEND_ROW * i
        label = s.label if len(s.label) <= 80 else s.label[:79] + "\u2026"
        yield (f'<g class="legend"><title>{escape(s.label)}</title><line x1="{x0}" y1="{py}" x2="{x0 + 24}" '
               f'y2="{py}" stroke-width="2.5" {style(s.index)}/>{_text(x0 + 30, py + 4, label, "start")}</g>')
