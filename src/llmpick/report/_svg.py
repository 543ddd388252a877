"""A tiny inline-SVG drawing kit: scales, ticks, axes and an element list that escapes all text.

The report must open with no network and no plotting library, so charts are SVG strings built
here. Every text and attribute value goes through `markupsafe.escape`, because candidate names,
categories and sources come from user files and model catalogs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from markupsafe import Markup, escape

__all__ = ["LinearScale", "LogScale", "Svg", "log_ticks", "nice_ticks"]


@dataclass(frozen=True)
class LinearScale:
    """Maps a data interval onto a pixel interval linearly."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start + (value - self.lo) / span * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        return nice_ticks(self.lo, self.hi, count)


@dataclass(frozen=True)
class LogScale:
    """Maps a positive data interval onto pixels on a log10 scale; values <= 0 clamp to `lo`."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        value = max(value, self.lo)
        a, b = math.log10(self.lo), math.log10(self.hi)
        span = b - a or 1.0
        return self.start + (math.log10(value) - a) / span * (self.end - self.start)

    def ticks(self, count: int = 6) -> list[float]:
        return log_ticks(self.lo, self.hi, count)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Decades, with 2 and 5 in between when the range spans few decades."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = last - first
    mantissas = (1,) if decades > 3 else (1, 2, 5) if decades > 1 else (1, 2, 3, 5)
    ticks = [
        m * 10.0**exponent
        for exponent in range(first, last + 1)
        for m in mantissas
        if lo * (1 - 1e-9) <= m * 10.0**exponent <= hi * (1 + 1e-9)
    ]
    if len(ticks) > count * 2:
        ticks = ticks[:: math.ceil(len(ticks) / (count * 2))]
    return ticks or [lo, hi]


def _attrs(attributes: dict[str, object]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        key = name.rstrip("_").replace("_", "-")
        text = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f' {key}="{escape(text)}"')
    return "".join(parts)


@dataclass
class Svg:
    """An SVG chart under construction; `markup()` returns it ready for a Jinja template.

    `name` becomes `data-chart`, which tests and readers use to find each chart.
    """

    name: str
    width: int
    height: int
    title: str
    parts: list[str] = field(default_factory=list)

    def element(self, tag: str, text: str | None = None, /, **attributes: object) -> None:
        attrs = _attrs(attributes)
        if text is None:
            self.parts.append(f"<{tag}{attrs}/>")
        else:
            self.parts.append(f"<{tag}{attrs}>{escape(text)}</{tag}>")

    def line(self, x1: float, y1: float, x2: float, y2: float, **attributes: object) -> None:
        self.element("line", x1=x1, y1=y1, x2=x2, y2=y2, **attributes)

    def text(self, x: float, y: float, text: str, **attributes: object) -> None:
        self.element("text", text, x=x, y=y, **attributes)

    def polyline(self, points: list[tuple[float, float]], **attributes: object) -> None:
        coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.element("polyline", points=coordinates, fill="none", **attributes)

    def open_group(self, tooltip: str | None = None, **attributes: object) -> None:
        self.parts.append(f"<g{_attrs(attributes)}>")
        if tooltip:
            self.element("title", tooltip)

    def close_group(self) -> None:
        self.parts.append("</g>")

    def x_axis(self, scale: LinearScale | LogScale, y: float, label: str, fmt: object) -> None:
        """A bottom axis with gridlines up to the top margin, tick labels and an axis title."""
        self.line(scale.start, y, scale.end, y, class_="axis")
        for tick in scale.ticks():
            x = scale(tick)
            self.line(x, y, x, 18, class_="grid")
            self.text(x, y + 16, fmt(tick), class_="tick", text_anchor="middle")  # type: ignore[operator]
        self.text(
            (scale.start + scale.end) / 2, y + 36, label, class_="axis-title", text_anchor="middle"
        )

    def y_axis(
        self, scale: LinearScale | LogScale, x: float, right: float, label: str, fmt: object
    ) -> None:
        """A left axis with gridlines across the plot, tick labels and a rotated axis title."""
        self.line(x, scale.start, x, scale.end, class_="axis")
        for tick in scale.ticks():
            y = scale(tick)
            self.line(x, y, right, y, class_="grid")
            self.text(x - 6, y + 4, fmt(tick), class_="tick", text_anchor="end")  # type: ignore[operator]
        middle = (scale.start + scale.end) / 2
        self.text(
            16,
            middle,
            label,
            class_="axis-title",
            text_anchor="middle",
            transform=f"rotate(-90 16 {middle:.1f})",
        )

    def markup(self, empty_reason: str | None = None) -> Markup:
        """The finished `<svg>`; with `empty_reason`, a placeholder saying why there is no data."""
        body = "".join(self.parts)
        if empty_reason is not None:
            body = (
                f'<text x="{self.width / 2:.0f}" y="{self.height / 2:.0f}" class="empty" '
                f'text-anchor="middle">{escape(empty_reason)}</text>'
            )
        empty = ' data-empty="true"' if empty_reason is not None else ""
        return Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart"'
            f' data-chart="{escape(self.name)}"'
            f'{empty} viewBox="0 0 {self.width} {self.height}" width="{self.width}" '
            f'height="{self.height}" role="img" aria-label="{escape(self.title)}">'
            f"<title>{escape(self.title)}</title>{body}</svg>"
        )
