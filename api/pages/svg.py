"""Pictures drawn on the server: a play run's steps as a dependency graph, an account's scores over time.

Both are plain geometry (no I/O); the templates turn them into SVG."""

import math
from dataclasses import dataclass, field
from datetime import datetime

from api.pages.format import countdown, label, span
from models.plays import RunStep, StepStatus

NODE_W, NODE_H = 236, 92
GAP_X, GAP_Y, PAD = 64, 22, 12
TITLE_CHARS = 31


@dataclass
class Node:
    key: str
    x: float
    y: float
    status: str
    title_lines: list[str]
    title: str
    owner: str
    note: str
    width: float = NODE_W
    height: float = NODE_H


@dataclass
class Edge:
    source: str
    target: str
    path: str
    done: bool


@dataclass
class Graph:
    width: float
    height: float
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def wrap(text: str, width: int = TITLE_CHARS, lines: int = 2) -> list[str]:
    """Break `text` into at most `lines` lines of `width` characters, at spaces; an ellipsis marks what is cut."""
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        line = words.pop(0)
        while words and len(line) + 1 + len(words[0]) <= width:
            line += " " + words.pop(0)
        out.append(line[: width - 1] + "…" if len(line) > width else line)
    if words:
        last = out[-1]
        out[-1] = (last if len(last) < width else last[: width - 1].rstrip()) + "…"
    return out


def layers_of(steps: list[RunStep]) -> dict[str, int]:
    """A step's column: one right of its furthest dependency (steps with none start at column 0)."""
    by_key = {s.key: s for s in steps}
    layer: dict[str, int] = {}

    def of(key: str, seen: frozenset = frozenset()) -> int:
        if key not in layer:
            deps = [d for d in by_key[key].depends_on if d in by_key and d not in seen]
            layer[key] = 1 + max((of(d, seen | {key}) for d in deps), default=-1)
        return layer[key]

    for step in steps:
        of(step.key)
    return layer


def _note(step: RunStep, names: dict[str, str], unfinished: set[str], now: datetime) -> str:
    if step.status == StepStatus.done:
        when = f" · {span(now - step.completed_at)} ago" if step.completed_at else ""
        return f"done by {names.get(step.completed_by, step.completed_by or '?')}{when}"
    if step.status in (StepStatus.ready, StepStatus.overdue):
        return countdown(step.due_at, now)
    if step.status == StepStatus.failed:
        return "failed: needs a retry"
    return "waits on " + ", ".join(label(d) for d in step.depends_on if d in unfinished)


def dependency_graph(steps: list[RunStep], owner_names: dict[str, str], now: datetime) -> Graph:
    """Columns by dependency depth; an edge that skips columns runs through a reserved slot in each one it crosses,
    so it never cuts through a step; within a column, steps sit near the middle of what they depend on."""
    layer = layers_of(steps)
    by_key = {s.key: s for s in steps}
    unfinished = {s.key for s in steps if s.status != StepStatus.done}
    columns: list[list[str]] = [[] for _ in range(1 + max(layer.values(), default=0))]
    parents: dict[str, list[str]] = {}
    chains: dict[tuple[str, str], list[str]] = {}
    for step in steps:
        columns[layer[step.key]].append(step.key)
    for step in steps:
        parents.setdefault(step.key, [])
        for dep in (d for d in step.depends_on if d in by_key):
            chain, previous = [], dep
            for column in range(layer[dep] + 1, layer[step.key]):
                slot = f"{dep}>{step.key}@{column}"
                columns[column].append(slot)
                parents[slot] = [previous]
                chain.append(slot)
                previous = slot
            parents[step.key].append(previous)
            chains[(dep, step.key)] = chain
    position: dict[str, float] = {}
    for index, column in enumerate(columns):
        if index:
            order = {item: i for i, item in enumerate(column)}
            column.sort(key=lambda item: (sum(position[p] for p in parents[item]) / len(parents[item])
                                          if parents[item] else len(column), order[item]))
        for i, item in enumerate(column):
            position[item] = i
    tallest = max(len(c) for c in columns) if columns else 0
    height = 2 * PAD + tallest * NODE_H + max(0, tallest - 1) * GAP_Y
    centre: dict[str, tuple[float, float]] = {}
    graph = Graph(width=2 * PAD + len(columns) * NODE_W + max(0, len(columns) - 1) * GAP_X, height=height)
    for index, column in enumerate(columns):
        x = PAD + index * (NODE_W + GAP_X)
        top = (height - (len(column) * NODE_H + max(0, len(column) - 1) * GAP_Y)) / 2
        for i, item in enumerate(column):
            y = top + i * (NODE_H + GAP_Y)
            centre[item] = (x, y + NODE_H / 2)
            if item in by_key:
                step = by_key[item]
                graph.nodes.append(Node(key=step.key, x=x, y=y, status=step.status.value, title_lines=wrap(step.title),
                                        title=step.title, owner=owner_names.get(step.owner_id, step.owner_id),
                                        note=_note(step, owner_names, unfinished, now)))
    for (dep, key), chain in chains.items():
        x, y = centre[dep]
        d = f"M{x + NODE_W:.0f},{y:.0f}"
        for point in chain + [key]:
            px, py = centre[point]
            bend = GAP_X / 2
            d += f" C{x + NODE_W + bend:.0f},{y:.0f} {px - bend:.0f},{py:.0f} {px:.0f},{py:.0f}"
            if point != key:
                d += f" L{px + NODE_W:.0f},{py:.0f}"
            x, y = px, py
        graph.edges.append(Edge(source=dep, target=key, path=d, done=by_key[dep].status == StepStatus.done))
    return graph


# --- score history -----------------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    css: str
    points: str
    last: tuple[float, float] | None
    last_value: float | None


@dataclass
class Frame:
    """A chart's canvas and the plot area inside it, in SVG units."""

    width: float
    height: float
    left: float
    top: float
    plot_w: float
    plot_h: float


@dataclass
class Chart(Frame):
    series: list[Series]
    gridlines: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]
    dots: list[tuple[str, float, float, str]]


def score_chart(points: list, width: int = 640, height: int = 220) -> Chart:
    """Health and renewal risk (0–100) against time; a single recomputation still shows as dots."""
    left, right, top, bottom = 36, 16, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [p.as_of.timestamp() for p in points]
    start, end = (min(times), max(times)) if times else (0, 1)
    spread = (end - start) or 1

    def xy(p, value: float) -> tuple[float, float]:
        x = left + (plot_w / 2 if end == start else (p.as_of.timestamp() - start) / spread * plot_w)
        return round(x, 1), round(top + plot_h * (1 - value / 100), 1)

    series, dots = [], []
    for name, css, attribute in (("Health", "health", "health"), ("Renewal risk", "risk", "renewal_risk")):
        coords = [xy(p, getattr(p, attribute)) for p in points]
        series.append(Series(name, css, " ".join(f"{x},{y}" for x, y in coords), coords[-1] if coords else None,
                             getattr(points[-1], attribute) if points else None))
        dots += [(css, x, y, f"{name} {getattr(p, attribute):.0f} on {p.as_of:%Y-%m-%d %H:%M}")
                 for (x, y), p in zip(coords, points)]
    gridlines = [(round(top + plot_h * (1 - v / 100), 1), str(v)) for v in (0, 25, 50, 75, 100)]
    labels = []
    if points:
        labels.append((left, f"{points[0].as_of:%b %d}", "start"))
        if end != start:
            labels.append((left + plot_w, f"{points[-1].as_of:%b %d}", "end"))
    return Chart(width, height, left, top, plot_w, plot_h, series, gridlines, labels, dots)


# --- the dashboard's charts ----------------------------------------------------------------------------------


def nice_ticks(top: float, count: int = 4, whole: bool = False) -> list[float]:
    """Round axis ticks from 0 that cover `top`: steps of 1, 2 or 5 times a power of ten (at least 1 for counts)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1) if whole else step
    return [round(step * i, 10) for i in range(math.ceil(top / step - 1e-9) + 1)]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass
class BarRow:
    label: str
    y: float
    note: str


@dataclass
class BarChart(Frame):
    """Horizontal bars, one row per category: stacked (the parts of a whole) or grouped (figures side by side)."""

    rows: list[BarRow]
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    axis_label: str
    series: list[str]


def bar_chart(labels: list[str], values: list[list[float]], series: list[str], axis_label: str, fmt=lambda v: f"{v:g}",
              stacked: bool = False, notes: list[str] | None = None, whole: bool = False, width: int = 560) -> BarChart:
    """`values[i][j]` is row i's figure for series j (None or 0 draws nothing)."""
    left, right, top, bottom = 180, 96, 8, 44
    band = 30 if stacked or len(series) == 1 else 14 * len(series) + 10
    plot_w, plot_h = width - left - right, max(1, len(labels)) * band
    totals = [sum(v or 0 for v in row) if stacked else max((v or 0 for v in row), default=0) for row in values]
    ticks = nice_ticks(max(totals, default=0), whole=whole)
    scale = plot_w / ticks[-1]
    rows, bars = [], []
    for i, (label, row) in enumerate(zip(labels, values)):
        y0, x = top + i * band, left
        for j, value in enumerate(row):
            if not value:
                continue
            w = max(1.5, value * scale)
            if stacked:
                bars.append(Bar(round(x, 1), y0 + 6, round(w, 1), band - 12, j, f"{label}, {series[j]}: {fmt(value)}"))
                x += w
            else:
                bars.append(Bar(left, y0 + 5 + j * 14, round(w, 1), 12, j, f"{label}, {series[j]}: {fmt(value)}"))
        note = (notes[i] if notes else fmt(totals[i])) or ""
        rows.append(BarRow(wrap(label, 25, 1)[0], y0 + band / 2, note))
    return BarChart(width, top + plot_h + bottom, left, top, plot_w, plot_h, rows, bars,
                    [(round(left + t * scale, 1), fmt(t)) for t in ticks], axis_label, series)


@dataclass
class Line:
    name: str
    series: int
    points: str
    dots: list[tuple[float, float, str]]


@dataclass
class LineChart(Frame):
    lines: list[Line]
    gridlines: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    target: tuple[float, str] | None
    axis_label: str


def percent_lines(x_labels: list[str], series: dict[str, list[float | None]], target: float | None, axis_label: str,
                  width: int = 560, height: int = 280) -> LineChart:
    """Percentages (0–100) per column; a missing value breaks nothing, it is simply not drawn."""
    left, right, top, bottom = 48, 28, 12, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(x_labels) - 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return round(left + i * step, 1), round(top + plot_h * (1 - value / 100), 1)

    lines = []
    for n, (name, values) in enumerate(series.items()):
        coords = [(xy(i, v), v, x_labels[i]) for i, v in enumerate(values) if v is not None]
        lines.append(Line(name, n, " ".join(f"{x},{y}" for (x, y), _, _ in coords),
                          [(x, y, f"{name}, week of {week}: {v:g}%") for (x, y), v, week in coords]))
    gridlines = [(round(top + plot_h * (1 - v / 100), 1), f"{v}%") for v in (0, 25, 50, 75, 100)]
    labels = [(round(left + i * step, 1), text) for i, text in enumerate(x_labels) if i % 3 == 0 or i == len(x_labels) - 1]
    mark = (round(top + plot_h * (1 - target / 100), 1), f"{target:g}% target") if target is not None else None
    return LineChart(width, height, left, top, plot_w, plot_h, lines, gridlines, labels, mark, axis_label)
