"""The four report charts as inline SVG, each with the provenance notes a reader needs beside it.

Each chart is an `<svg data-chart="...">`; when the decision lacks the data a chart needs, the
chart is still there with a line saying why, so a reader never wonders whether it failed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from llmpick.report._svg import LinearScale, LogScale, Svg
from llmpick.report._view import (
    as_dict,
    as_list,
    as_number,
    as_text,
    candidate_name,
    dig,
    eligible_candidates,
    format_count,
    format_ms,
    format_usd,
)

__all__ = [
    "CHART_NAMES",
    "Chart",
    "capacity_chart",
    "category_quality_chart",
    "cost_volume_chart",
    "latency_chart",
    "loss_chart",
    "quality_cost_chart",
]

CHART_NAMES = ("quality-cost", "cost-volume", "latency", "category-quality")
_OPEN, _CLOSED = "open", "closed"


@dataclass
class Chart:
    svg: Markup
    notes: list[str] = field(default_factory=list)


# Names longer than this are cut with an ellipsis in charts (the tables show them whole).
_LABEL_CHARS = 48


def _short(text: str, limit: int = 30) -> str:
    """A label that fits its chart; the full text stays in the tooltip and the tables."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _is_open(candidate: Mapping[str, Any]) -> bool:
    return candidate.get("open_weights") is True or candidate.get("deployment") == "self-hosted"


def _short_usd(value: float) -> str:
    return format_usd(value).replace(".00", "")


def _ms_tick(value: float) -> str:
    return f"{value:g} ms" if value < 1000 else f"{value / 1000:g} s"


def _plain(value: float) -> str:
    return f"{value:g}"


def _padded_log_domain(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    lo, hi = lo / 1.6, hi * 1.6
    if hi / lo < 10:  # keep at least one decade so the log axis has ticks to read
        centre = math.sqrt(lo * hi)
        lo, hi = centre / math.sqrt(10), centre * math.sqrt(10)
    return lo, hi


def quality_cost_chart(decision: Mapping[str, Any]) -> Chart:
    """Quality (with 95% CI) against monthly cost on a log axis, and the Pareto front."""
    names = [candidate_name(c) for c in eligible_candidates(decision)]
    longest = min(max((len(n) for n in names), default=10), _LABEL_CHARS)
    # Point labels run to the right of their point: the margin fits the longest one.
    right = max(250, int(longest * 6.2) + 24)
    width, height, left, top, bottom = 630 + right, 440, 64, 18, 380
    svg = Svg("quality-cost", width, height, "Quality against monthly cost, with the Pareto front")
    notes: list[str] = []
    plotted, skipped = [], []
    for candidate in eligible_candidates(decision):
        cost = as_number(dig(candidate, "cost", "usd_per_month"))
        quality = as_number(dig(candidate, "quality", "mean"))
        if cost is None or quality is None:
            skipped.append(candidate_name(candidate))
        else:
            plotted.append((candidate, cost, quality))
    if not plotted:
        return Chart(svg.markup("No candidate has both a quality score and a monthly cost."), notes)

    zero_cost = [c for c, cost, _ in plotted if cost <= 0]
    positive = [cost for _, cost, _ in plotted if cost > 0] or [1.0]
    x = LogScale(*_padded_log_domain(positive), left, width - right)
    bounds = [q for _, _, q in plotted]
    for c, _, _ in plotted:
        bounds += [
            v
            for v in (as_number(dig(c, "quality", k)) for k in ("ci_low", "ci_high"))
            if v is not None
        ]
    lo, hi = min(bounds), max(bounds)
    if lo >= 0 and hi <= 1:  # a share: round out to tenths, within [0, 1]
        lo, hi = max(math.floor(lo * 10 - 0.5) / 10, 0.0), min(math.ceil(hi * 10 + 0.5) / 10, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    y = LinearScale(lo, hi, bottom, top)
    metric = as_text(dig(plotted[0][0], "quality", "metric")) or "quality"
    svg.x_axis(x, bottom, "Monthly cost at your volume (USD, log scale)", _short_usd)
    svg.y_axis(y, left, width - right, f"{metric} (mean, 95% CI)", _plain)

    front = sorted((cost, q) for c, cost, q in plotted if c.get("pareto") is True)
    if len(front) > 1:
        svg.polyline([(x(cost), y(q)) for cost, q in front], class_="pareto")
    recommended = as_text(dig(decision, "recommendation", "id"))
    placed: list[tuple[float, float, float]] = []  # label boxes: x start, x end, baseline
    for candidate, cost, quality in sorted(plotted, key=lambda p: -p[2]):
        kind = _OPEN if _is_open(candidate) else _CLOSED
        measured = dig(candidate, "quality", "provenance") == "measured"
        px, py = x(cost), y(quality)
        name = candidate_name(candidate)
        low = as_number(dig(candidate, "quality", "ci_low"))
        high = as_number(dig(candidate, "quality", "ci_high"))
        tooltip = (
            f"{name}: {metric} {quality:.3f}"
            + (f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else "")
            + f", {format_usd(cost)}/month"
        )
        svg.open_group(tooltip, class_=f"point {kind}")
        if low is not None and high is not None:
            svg.line(px, y(low), px, y(high), class_="errorbar")
            for value in (low, high):
                svg.line(px - 4, y(value), px + 4, y(value), class_="errorbar")
        if as_text(candidate.get("id")) == recommended and recommended:
            svg.element("circle", cx=px, cy=py, r=10, class_="recommended")
        svg.element("circle", cx=px, cy=py, r=5, class_="dot" if measured else "dot hollow")
        label = _short(name, _LABEL_CHARS)
        label_y = _free_label_row(placed, px + 9, px + 9 + 6.2 * len(label), py - 7)
        svg.text(px + 9, label_y, label, class_="label")
        svg.close_group()

    lx = width - right + 16
    legend = [
        ("dot-open", "open weights / self-hosted"),
        ("dot-closed", "closed API"),
        ("hollow", "quality from catalog, not measured"),
        ("pareto", "Pareto front"),
        ("errorbar", "95% confidence interval"),
        ("recommended", "recommended"),
    ]
    _legend(svg, lx, top + 8, legend)
    cost_sources = {as_text(dig(c, "cost", "provenance")) for c, _, _ in plotted if not _is_open(c)}
    if "catalog" in cost_sources:
        notes.append("Closed models: catalog list prices at your volume, not measured bills.")
    if any(dig(c, "quality", "provenance") != "measured" for c, _, _ in plotted):
        notes.append(
            "Hollow points: quality from published benchmarks (catalog), not measured on your data."
        )
    if any(dig(c, "cost", "provenance") == "estimate" for c, _, _ in plotted):
        notes.append(
            "Self-hosted costs are estimates (GPU price × hours ÷ throughput at your SLO)."
        )
    if zero_cost:
        notes.append(
            "Shown at the left edge (no monthly cost recorded): "
            + ", ".join(candidate_name(c) for c in zero_cost)
            + "."
        )
    if skipped:
        notes.append("Not plotted (quality or cost unknown): " + ", ".join(skipped) + ".")
    return Chart(svg.markup(), notes)


def _free_label_row(
    placed: list[tuple[float, float, float]], start: float, end: float, y: float
) -> float:
    """The first baseline at or below `y` where a label does not overlap one already placed."""
    while any(s < end and start < e and abs(y - row) < 12 for s, e, row in placed):
        y += 12
    placed.append((start, end, y))
    return y


def _legend(svg: Svg, x: float, y: float, entries: Sequence[tuple[str, str]]) -> None:
    for index, (swatch, text) in enumerate(entries):
        row = y + index * 20
        if swatch in ("dot-open", "dot-closed"):
            kind = _OPEN if swatch == "dot-open" else _CLOSED
            svg.element("circle", cx=x + 6, cy=row, r=5, class_=f"dot {kind}-fill")
        elif swatch == "hollow":
            svg.element("circle", cx=x + 6, cy=row, r=5, class_="dot hollow legend-hollow")
        elif swatch == "recommended":
            svg.element("circle", cx=x + 6, cy=row, r=9, class_="recommended")
        elif swatch == "errorbar":
            svg.line(x + 6, row - 7, x + 6, row + 7, class_="errorbar")
        else:
            svg.line(x, row, x + 14, row, class_=swatch)
        svg.text(x + 20, row + 4, text, class_="legend")


def _interpolate_loglog(points: Sequence[tuple[float, float]], at: float) -> float | None:
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= at <= x1 and x0 > 0 and x1 > x0 and y0 > 0 and y1 > 0:
            t = (math.log(at) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
    return None


def cost_volume_chart(decision: Mapping[str, Any]) -> Chart:
    """Monthly cost of the best open and best closed option against daily volume (log-log)."""
    width, height, left, right, top, bottom = 780, 420, 72, 200, 18, 360
    svg = Svg("cost-volume", width, height, "Monthly cost against daily volume, with break-even")
    break_even = as_dict(decision.get("break_even"))
    by_id = {as_text(c.get("id")): c for c in eligible_candidates(decision)}
    open_name = candidate_name(
        by_id.get(as_text(break_even.get("open_id"))), break_even.get("open_id")
    )
    closed_name = candidate_name(
        by_id.get(as_text(break_even.get("closed_id"))), break_even.get("closed_id")
    )
    lines: dict[str, list[tuple[float, float]]] = {_OPEN: [], _CLOSED: []}
    for point in as_list(break_even.get("curve")):
        volume = as_number(dig(point, "requests_per_day"))
        if volume is None or volume <= 0:
            continue
        for kind in (_OPEN, _CLOSED):
            cost = as_number(dig(point, f"{kind}_usd_per_month"))
            if cost is not None and cost > 0:
                lines[kind].append((volume, cost))
    if not lines[_OPEN] and not lines[_CLOSED]:
        return Chart(svg.markup("No cost curve: break-even needs one open and one closed option."))
    xs = [v for line in lines.values() for v, _ in line]
    ys = [c for line in lines.values() for _, c in line]
    x = LogScale(min(xs), max(xs), left, width - right)
    y = LogScale(*_padded_log_domain(ys), bottom, top)
    svg.x_axis(x, bottom, "Requests per day (log scale)", format_count)
    svg.y_axis(y, left, width - right, "USD per month (log scale)", _short_usd)
    for kind in (_OPEN, _CLOSED):
        points = sorted(lines[kind])
        if points:
            svg.polyline([(x(v), y(c)) for v, c in points], class_=f"series {kind}")
    notes: list[str] = []
    volume = as_number(dig(decision, "volume", "requests_per_day"))
    if volume is not None and x.lo <= volume <= x.hi:
        svg.line(x(volume), top, x(volume), bottom, class_="marker-line")
        svg.text(
            x(volume) + 4, top + 12, f"your volume: {format_count(volume)}/day", class_="label"
        )
    crossing = as_number(break_even.get("requests_per_day"))
    if crossing is not None and x.lo <= crossing <= x.hi:
        cost_at = _interpolate_loglog(sorted(lines[_OPEN]), crossing) or _interpolate_loglog(
            sorted(lines[_CLOSED]), crossing
        )
        if cost_at is not None:
            svg.open_group(f"break-even at {crossing:,.0f} requests/day", class_="break-even")
            svg.element("circle", cx=x(crossing), cy=y(cost_at), r=7, class_="break-even-dot")
            svg.text(
                x(crossing) + 10,
                y(cost_at) + 18,
                f"break-even ≈ {format_count(crossing)}/day",
                class_="label strong",
            )
            svg.close_group()
    elif crossing is None:
        notes.append("The two cost lines do not cross in the range shown: no break-even point.")
    else:
        notes.append(f"Break-even at {crossing:,.0f} requests/day lies outside the range shown.")
    lx = width - right + 16
    _legend(
        svg,
        lx,
        top + 8,
        [
            (f"series {_OPEN}", f"open: {_short(open_name, 24)}"),
            (f"series {_CLOSED}", f"closed: {_short(closed_name, 22)}"),
        ],
    )
    svg.line(lx, top + 48, lx + 14, top + 48, class_="marker-line")
    svg.text(lx + 20, top + 52, "your volume", class_="legend")
    svg.element("circle", cx=lx + 7, cy=top + 68, r=5, class_="break-even-dot")
    svg.text(lx + 20, top + 72, "break-even", class_="legend")
    notes.append(
        "Open line: self-hosted estimate (GPU hours × price, replicas for your throughput). "
        "Closed line: catalog list prices × tokens."
    )
    return Chart(svg.markup(), notes)


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _samples(latency: Mapping[str, Any], key: str) -> list[float]:
    values = (as_number(v) for v in as_list(latency.get(key)))
    return sorted(v for v in values if v is not None and v > 0)


def latency_chart(decision: Mapping[str, Any]) -> Chart:
    """Per candidate: TTFT and end-to-end latency as box plots (p5-p25-p50-p75-p95), log ms."""
    rows = []
    for candidate in eligible_candidates(decision):
        latency = as_dict(candidate.get("latency"))
        series = []
        for metric, samples_key, p50_key, p95_key in (
            ("TTFT", "ttft_samples_ms", "ttft_p50_ms", "ttft_p95_ms"),
            ("E2E", "e2e_samples_ms", "e2e_p50_ms", "e2e_p95_ms"),
        ):
            samples = _samples(latency, samples_key)
            p50, p95 = as_number(latency.get(p50_key)), as_number(latency.get(p95_key))
            if len(samples) >= 5:
                stats = [_quantile(samples, q) for q in (0.05, 0.25, 0.5, 0.75, 0.95)]
                series.append((metric, stats, len(samples)))
            elif p50 is not None and p50 > 0:
                series.append((metric, [p50, p50, p50, p50, p95 if p95 and p95 > 0 else p50], 0))
        if series:
            rows.append((candidate, latency, series))
    longest = min(
        max((len(candidate_name(c)) + 7 for c, _, _ in rows), default=20), _LABEL_CHARS + 7
    )
    row_height, right, top = 46, 40, 18
    left = max(190, int(longest * 6.6) + 16)  # the name column fits the longest name
    width = 590 + left
    height = top + max(len(rows), 1) * row_height + 60
    svg = Svg("latency", width, height, "Latency per candidate: time to first token and end-to-end")
    if not rows:
        return Chart(svg.markup("No latency measured or estimated for any candidate."))
    values = [v for _, _, series in rows for _, stats, _ in series for v in stats]
    x = LogScale(*_padded_log_domain(values), left, width - right)
    bottom = top + len(rows) * row_height
    svg.x_axis(x, bottom, "Latency (log scale)", _ms_tick)
    notes = ["Boxes: 25th–75th percentile, line: median, whiskers: 5th–95th percentile."]
    estimated = []
    for index, (candidate, latency, series) in enumerate(rows):
        base = top + index * row_height
        measured = latency.get("provenance") == "measured"
        name = candidate_name(candidate)
        if not measured:
            estimated.append(name)
        svg.text(
            left - 8,
            base + row_height / 2 + 4,
            _short(name, _LABEL_CHARS) + ("" if measured else " (est.)"),
            class_="label",
            text_anchor="end",
        )
        for offset, (metric, stats, count) in enumerate(series):
            cy = base + 14 + offset * 18
            p5, p25, p50, p75, p95 = stats
            kind = "ttft" if metric == "TTFT" else "e2e"
            detail = f"{count} samples" if count else "p50/p95 only"
            tooltip = f"{name} {metric}: median {format_ms(p50)}, p95 {format_ms(p95)} ({detail})"
            style = kind + ("" if measured else " estimate")
            svg.open_group(tooltip, class_=f"box {style}")
            svg.line(x(p5), cy, x(p95), cy, class_="whisker")
            for edge in (p5, p95):
                svg.line(x(edge), cy - 4, x(edge), cy + 4, class_="whisker")
            svg.element(
                "rect",
                x=x(p25),
                y=cy - 6,
                width=max(x(p75) - x(p25), 2.0),
                height=12.0,
                class_="iqr",
            )
            svg.line(x(p50), cy - 7, x(p50), cy + 7, class_="median")
            svg.close_group()
    legend_y = bottom + 48
    svg.element("rect", x=left, y=legend_y - 8, width=14, height=10, class_="iqr ttft-fill")
    svg.text(left + 20, legend_y + 1, "time to first token (TTFT)", class_="legend")
    svg.element("rect", x=left + 200, y=legend_y - 8, width=14, height=10, class_="iqr e2e-fill")
    svg.text(left + 220, legend_y + 1, "end-to-end (E2E)", class_="legend")
    svg.element(
        "rect", x=left + 360, y=legend_y - 8, width=14, height=10, class_="iqr estimate-swatch"
    )
    svg.text(left + 380, legend_y + 1, "dashed: estimate, not measured", class_="legend")
    if estimated:
        notes.append("Estimated, not measured: " + ", ".join(estimated) + ".")
    return Chart(svg.markup(), notes)


def _heat_fill(mean: float) -> str:
    share = min(max(mean, 0.0), 1.0)
    lightness = 96 - share * 58  # light for low scores, deep blue for high
    return f"hsl(212, 70%, {lightness:.0f}%)"


def category_quality_chart(decision: Mapping[str, Any], max_categories: int = 40) -> Chart:
    """A heat table: one row per candidate, one column per dataset category, mean score and n."""
    rows = [
        (c, as_dict(c.get("per_category")))
        for c in eligible_candidates(decision)
        if as_dict(c.get("per_category"))
    ]
    counts: dict[str, int] = {}
    for _, per_category in rows:
        for category in per_category:
            counts[str(category)] = counts.get(str(category), 0) + 1
    categories = sorted(counts)[:max_categories]
    # The label column fits the longest candidate name (about 6.6 px a character at this size,
    # up to 60 characters), so names are not cut to an ellipsis.
    longest = max((len(candidate_name(c)) for c, _ in rows), default=10)
    cell_w, cell_h, top = 72, 30, 70
    left = int(min(max(longest, 20), 60) * 6.6) + 16
    width = max(left + len(categories) * cell_w + 20, 420)
    height = top + max(len(rows), 1) * cell_h + 20
    svg = Svg("category-quality", width, height, "Quality per dataset category")
    if not rows or not categories:
        return Chart(svg.markup("No per-category scores (the dataset has no categories)."))
    for column, category in enumerate(categories):
        cx = left + column * cell_w + cell_w / 2
        label = category if len(category) <= 14 else category[:13] + "…"
        svg.text(
            cx,
            top - 10,
            label,
            class_="tick",
            text_anchor="start",
            transform=f"rotate(-30 {cx:.1f} {top - 10})",
        )
    for row, (candidate, per_category) in enumerate(rows):
        y = top + row * cell_h
        name = candidate_name(candidate)
        svg.text(left - 8, y + cell_h / 2 + 4, _short(name, 60), class_="label", text_anchor="end")
        for column, category in enumerate(categories):
            x = left + column * cell_w
            cell = as_dict(per_category.get(category))
            mean, n = as_number(cell.get("mean")), as_number(cell.get("n"))
            n_text = f"n={n:.0f}" if n is not None else "n=?"
            tooltip = f"{name} · {category}: " + (
                f"{mean:.3f} ({n_text})" if mean is not None else "no data"
            )
            svg.open_group(tooltip, class_="cell")
            fill = _heat_fill(mean) if mean is not None else "#eeeeee"
            svg.element("rect", x=x + 1, y=y + 1, width=cell_w - 2, height=cell_h - 2, fill=fill)
            dark = mean is not None and mean > 0.6
            text = f"{mean:.2f}" if mean is not None else "–"
            svg.text(
                x + cell_w / 2,
                y + 13,
                text,
                class_="cell-text" + (" on-dark" if dark else ""),
                text_anchor="middle",
            )
            svg.text(
                x + cell_w / 2,
                y + 25,
                n_text,
                class_="cell-n" + (" on-dark" if dark else ""),
                text_anchor="middle",
            )
            svg.close_group()
    notes = ["Cells: mean score per category (darker is better), n = items in that category."]
    if len(counts) > len(categories):
        notes.append(f"Showing {len(categories)} of {len(counts)} categories (alphabetical).")
    if any(dig(c, "quality", "provenance") != "measured" for c, _ in rows):
        notes.append("Some rows are not measured on your data; see the provenance badges.")
    return Chart(svg.markup(), notes)


def capacity_chart(decision: Mapping[str, Any]) -> Chart:
    """Each load test as a throughput-latency curve: one point per concurrency level, p95 E2E
    against requests/s, with the SLO as a line; the capacity is the best point under it."""
    tests = [as_dict(t) for t in as_list(decision.get("load_tests"))]
    curves = []
    for test in tests:
        points = []
        for level in as_list(test.get("levels")):
            rate = as_number(dig(level, "requests_per_s"))
            e2e = as_number(dig(level, "e2e_p95_ms"))
            if rate is not None and e2e is not None:
                points.append((rate, e2e, level))
        if points:
            points.sort(key=lambda p: as_number(dig(p[2], "concurrency")) or 0)
            curves.append((test, points))
    width, height, left, right, top, bottom = 780, 340, 70, 30, 18, 290
    svg = Svg("capacity", width, height, "Load tests: p95 end-to-end latency against requests/s")
    if not curves:
        return Chart(svg.markup("No load test with measured levels."))
    slos = [as_number(dig(t, "slo", "e2e_p95_ms")) for t, _ in curves]
    slo_lines = sorted({v for v in slos if v is not None})
    max_rate = max(r for _, points in curves for r, _, _ in points)
    max_ms = max([e for _, points in curves for _, e, _ in points] + slo_lines)
    # Levels of a sweep span orders of magnitude (c=1 to c=256; 30 ms to 14 s): a linear axis
    # squeezes the interesting low end into one corner, so a wide range gets a log axis.
    rates = [r for _, points in curves for r, _, _ in points if r > 0]
    latencies = [e for _, points in curves for _, e, _ in points if e > 0] + slo_lines
    x: LinearScale | LogScale = (
        LogScale(*_padded_log_domain(rates), left, width - right)
        if rates and max(rates) > 10 * min(rates)
        else LinearScale(0.0, max_rate * 1.1, left, width - right)
    )
    y: LinearScale | LogScale = (
        LogScale(*_padded_log_domain(latencies), bottom, top)
        if latencies and max(latencies) > 10 * min(latencies)
        else LinearScale(0.0, max_ms * 1.1, bottom, top)
    )
    svg.x_axis(x, bottom, "Requests per second served", _plain)
    svg.y_axis(y, left, width - right, "p95 end-to-end latency", _ms_tick)
    for slo in slo_lines:
        svg.line(left, y(slo), width - right, y(slo), class_="slo")
        svg.text(width - right - 4, y(slo) - 4, f"SLO {format_ms(slo)}", class_="legend",
                 text_anchor="end")  # fmt: skip
    for index, (test, points) in enumerate(curves):
        name = as_text(test.get("candidate"))
        svg.polyline([(x(r), y(e)) for r, e, _ in points], class_=f"curve series-{index % 6}")
        last_label: tuple[float, float] | None = None
        for rate, e2e, level in points:
            concurrency = as_text(dig(level, "concurrency"))
            passed = dig(level, "meets_slo") is True
            tooltip = (
                f"{name}, {'in flight' if dig(level, 'target_rate') else 'concurrency'} "
                f"{concurrency}: {rate:,.2f} requests/s, p95 E2E "
                f"{format_ms(e2e)}; {as_text(dig(level, 'verdict'))}"
            )
            svg.open_group(tooltip, class_="level " + ("pass" if passed else "fail"))
            svg.element("circle", cx=x(rate), cy=y(e2e), r=5)
            # Levels found by bisection sit close together: alternate labels above and below.
            crowded = last_label is not None and abs(x(rate) - last_label[0]) < 36
            label_y = (
                y(e2e) + 16 if crowded and last_label and last_label[1] < y(e2e) else y(e2e) - 6
            )
            offered = as_number(dig(level, "target_rate"))
            label = f"{offered:g}/s" if offered is not None else f"c={concurrency}"
            svg.text(x(rate) + 7, label_y, label, class_="tick")
            last_label = (x(rate), label_y)
            svg.close_group()
        svg.text(
            left + 8, top + 14 + index * 16, _short(name, 40), class_=f"legend series-{index % 6}"
        )
    notes = [
        "Each point is one load level (c=N: N requests kept in flight; N/s: requests arriving "
        "at N per second), measured with the spec's prompts; filled points met the SLO. A "
        "candidate's capacity is its best filled point.",
        *(f"{as_text(t.get('candidate'))}: {as_text(t.get('source'))}" for t, _ in curves),
    ]
    return Chart(svg.markup(), notes)


def loss_chart(decision: Mapping[str, Any]) -> Chart:
    """Each tuned model's training loss per step, with its validation loss before training
    (step 0) and after each epoch (at that epoch's last step)."""
    models = [
        as_dict(m)
        for m in as_list(dig(decision, "tuning", "models"))
        if as_list(as_dict(m).get("step_losses"))
    ]
    width, height, left, right, top, bottom = 780, 300, 70, 30, 18, 250
    svg = Svg("loss", width, height, "Tuning: training loss per step, validation loss per epoch")
    if not models:
        return Chart(svg.markup("No tuned model was trained."))
    curves: list[tuple[str, list[float], list[tuple[int, float]]]] = []
    for m in models:
        steps = [v for v in (as_number(x) for x in as_list(m.get("step_losses"))) if v is not None]
        epochs = as_list(m.get("epochs"))
        per_epoch = math.ceil(len(steps) / max(1, len(epochs)))
        at = [(0, as_number(m.get("initial_validation_loss")))] + [
            (min(len(steps), n * per_epoch), as_number(dig(e, "validation_loss")))
            for n, e in enumerate(epochs, 1)
        ]
        validation = [(i, v) for i, v in at if v is not None and math.isfinite(v)]
        curves.append((as_text(m.get("candidate")), steps, validation))
    top_loss = max(v for _, s, val in curves for v in [*s, *(v for _, v in val)])
    x = LinearScale(0.0, float(max(len(s) for _, s, _ in curves)), left, width - right)
    y = LinearScale(0.0, top_loss * 1.1, bottom, top)
    svg.x_axis(x, bottom, "Optimizer step", _plain)
    svg.y_axis(y, left, width - right, "Loss (answer tokens)", _plain)
    for index, (name, steps, validation) in enumerate(curves):
        series = f"series-{index % 6}"
        svg.polyline([(x(i + 1), y(v)) for i, v in enumerate(steps)], class_=f"curve {series}")
        for step, value in validation:
            svg.open_group(f"{name}: validation loss {value:.3f} at step {step}", class_="level")
            svg.element("circle", cx=x(step), cy=y(value), r=5)
            svg.close_group()
        svg.text(left + 8, top + 14 + index * 16, _short(name, 40), class_=f"legend {series}")
    notes = [
        "Lines: training loss of each optimizer step (on the training split). Points: "
        "validation loss before training and after each epoch (the adapter kept is the best "
        "epoch's). Measured by llmpick tune on this machine.",
    ]
    return Chart(svg.markup(), notes)
