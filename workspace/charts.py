"""Charts drawn on the server: series in, SVG geometry out, for templates to write.

The dashboard's charts are inline SVG rendered by a Django template
(``admin/dashboard/chart.html``) from the plain geometry these functions compute: no
chart library, no script, nothing from another origin, and the page's
Content-Security-Policy (no inline style) holds because colours come from CSS classes
(``static/css/dashboard.css``), never from a style attribute.

Every chart has the same frame: a plot area inside fixed margins, a value axis with a
few round ticks starting at zero (``axis``), category labels along the bottom (thinned out when
they would collide), and a legend. Values of ``None`` are gaps (a day without data).
"""

import math
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 26
LABEL_ROOM = 40  # the width one category label needs along the bottom
BAR_GAP = 0.25  # the share of a slot left empty between bars


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # the CSS class that gives the series its colour
    values: list


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Line:
    points: str  # "x,y x,y ..." for a <polyline>
    css: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    top: float = TOP
    right: float = WIDTH - RIGHT
    bottom: float = HEIGHT - BOTTOM
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    y_ticks: list[Label] = field(default_factory=list)
    x_labels: list[Label] = field(default_factory=list)
    legend: list[Series] = field(default_factory=list)
    empty: bool = False
    horizontal: bool = False  # categories down the left, values along the bottom

    @property
    def middle(self) -> Label:
        """Where the "no data" text goes: the middle of the plot area."""
        return Label(_r((self.left + self.right) / 2), _r((self.top + self.bottom) / 2), "")


def nice_ceiling(value: float) -> float:
    """The smallest round number (1, 2, 2.5 or 5 times a power of ten) at or above
    ``value``; 1 for zero or less, so an empty chart still has an axis."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if value <= step * power * (1 + 1e-9))


def axis(highest: float) -> list[float]:
    """The value axis' ticks from zero: at most six, a round step apart, the last at or
    above ``highest`` (0-5 for a score, 0-20 by 5 for 17 tickets)."""
    step = nice_ceiling(highest / 5)
    count = max(math.ceil(highest / step - 1e-9), 1)
    return [step * n for n in range(count + 1)]


def compact(value: float) -> str:
    """A tick's number, short: 950, 1.2k, 3M; whole numbers without decimals."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.1f}".rstrip("0").rstrip(".")


def shorten(label: str, room: int = 24) -> str:
    """A label cut to fit ``room`` narrow characters (a Chinese character takes two), with
    an ellipsis; the whole label stays in the bar's title."""
    used = 0
    for i, char in enumerate(label):
        used += 2 if ord(char) > 0x2E7F else 1
        if used > room:
            return label[:i].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    return label


def stacked_bars(
    title: str, labels: list[str], series: list[Series], *, tick=compact, width=WIDTH
) -> Chart:
    """One column per label, the series stacked in it bottom up (tickets per channel)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    chart, y = _frame(title, labels, max(totals, default=0), tick, series, width)
    slot = _slot(chart, labels)
    for i in range(len(labels)):
        base = chart.bottom
        for s in series:
            value = s.values[i] or 0
            if value:
                top = y(value) - chart.bottom + base
                chart.rects.append(
                    _bar(chart, slot, i, top, base - top, s.css, f"{labels[i]} {s.label}: {value}")
                )
                base = top
    chart.empty = not any(totals)
    return chart


def grouped_bars(
    title: str, labels: list[str], series: list[Series], *, tick=compact, width=WIDTH
) -> Chart:
    """One column per label, the series side by side in it (breaches of each SLA)."""
    highest = max((v or 0 for s in series for v in s.values), default=0)
    chart, y = _frame(title, labels, highest, tick, series, width)
    slot = _slot(chart, labels)
    width = slot * (1 - BAR_GAP) / max(len(series), 1)
    for i in range(len(labels)):
        for n, s in enumerate(series):
            value = s.values[i] or 0
            if value:
                x = chart.left + slot * i + slot * BAR_GAP / 2 + width * n
                chart.rects.append(
                    Rect(
                        _r(x),
                        _r(y(value)),
                        _r(width),
                        _r(chart.bottom - y(value)),
                        s.css,
                        f"{labels[i]} {s.label}: {value}",
                    )
                )
    chart.empty = not highest
    return chart


def lines(
    title: str,
    labels: list[str],
    series: list[Series],
    *,
    tick=compact,
    maximum=None,
    width=WIDTH,
) -> Chart:
    """A line per series over the labels, broken where a value is None; a dot on each
    value, titled with it (a lone day still shows). ``maximum`` fixes the axis (a 1-5
    score), otherwise it is the highest value, rounded up."""
    highest = max((v for s in series for v in s.values if v is not None), default=0)
    chart, y = _frame(title, labels, maximum or highest, tick, series, width)
    slot = _slot(chart, labels)
    for s in series:
        run: list[str] = []
        for i, value in enumerate([*s.values, None]):
            if value is None:
                if len(run) > 1:
                    chart.lines.append(Line(" ".join(run), s.css))
                run = []
                continue
            x = _r(chart.left + slot * (i + 0.5))
            run.append(f"{x},{_r(y(value))}")
            chart.dots.append(Dot(x, _r(y(value)), s.css, f"{labels[i]} {s.label}: {tick(value)}"))
    chart.empty = not chart.dots
    return chart


def horizontal_bars(
    title: str, items: list[tuple[str, float]], css: str, *, tick=compact, width=WIDTH
) -> Chart:
    """One bar per item, longest first as given, its label on the left (open tickets by
    queue). The chart grows with the items so every label has its line."""
    row = 26
    height = TOP + BOTTOM + row * max(len(items), 1)
    chart = Chart(
        title=title,
        width=width,
        height=height,
        left=150,
        right=width - RIGHT - 10,
        bottom=height - BOTTOM,
        horizontal=True,
    )
    ticks = axis(max((value for _label, value in items), default=0))
    maximum = ticks[-1]
    span = chart.right - chart.left
    for value in ticks:
        x = chart.left + span * value / maximum
        chart.x_labels.append(Label(_r(x), chart.bottom + 16, tick(value)))
    for i, (label, value) in enumerate(items):
        top = chart.top + row * i + 4
        chart.y_ticks.append(Label(chart.left - 6, _r(top + row / 2), shorten(label)))
        chart.rects.append(
            Rect(chart.left, _r(top), _r(span * value / maximum), row - 8, css, f"{label}: {value}")
        )
    chart.empty = not any(value for _label, value in items)
    return chart


def _frame(title, labels, highest, tick, series, width) -> tuple[Chart, callable]:
    """The chart with its value ticks, category labels and legend, and its y scale."""
    chart = Chart(title=title, width=width, right=width - RIGHT, legend=list(series))
    ticks = axis(highest)
    height = chart.bottom - chart.top

    def y(value):
        return chart.bottom - height * value / ticks[-1]

    for value in ticks:
        chart.y_ticks.append(Label(chart.left - 6, _r(y(value)), tick(value)))
    slot = _slot(chart, labels)
    every = max(1, math.ceil(LABEL_ROOM / slot)) if labels else 1
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % every == 0:  # the latest label always shows
            chart.x_labels.append(
                Label(_r(chart.left + slot * (i + 0.5)), chart.bottom + 16, label)
            )
    return chart, y


def _slot(chart: Chart, labels: list) -> float:
    return (chart.right - chart.left) / max(len(labels), 1)


def _bar(chart: Chart, slot: float, i: int, top: float, height: float, css: str, title: str):
    x = chart.left + slot * i + slot * BAR_GAP / 2
    return Rect(_r(x), _r(top), _r(slot * (1 - BAR_GAP)), _r(height), css, title)


def _r(value: float) -> float:
    return round(value, 1)
