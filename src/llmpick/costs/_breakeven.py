"""The volume at which self-hosting and an API cost the same.

API cost grows linearly with volume; self-hosting is a staircase (one more replica each time the
peak outgrows the last) on top of a fixed operations cost. The break-even is the lowest daily
volume from which the self-hosted bill stays at or below the API bill on a fine log grid, refined
by bisection; there may be none in the range searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CostAt = Callable[[float], float]

MIN_REQUESTS_PER_DAY = 10.0
MAX_REQUESTS_PER_DAY = 1e9


@dataclass(frozen=True)
class BreakEven:
    requests_per_day: float | None
    note: str
    curve: list[tuple[float, float, float]]  # (requests/day, self-hosted $/month, API $/month)


def log_grid(lo: float, hi: float, points: int) -> list[float]:
    """`points` values spaced evenly on a log scale from lo to hi."""
    ratio = (hi / lo) ** (1 / (points - 1))
    return [lo * ratio**i for i in range(points)]


def break_even_volume(
    self_hosted: CostAt,
    api: CostAt,
    *,
    lo: float = MIN_REQUESTS_PER_DAY,
    hi: float = MAX_REQUESTS_PER_DAY,
    points: int = 241,
) -> BreakEven:
    """Find where self-hosting becomes (and stays) no dearer than the API."""
    grid = log_grid(lo, hi, points)
    curve = [(v, self_hosted(v), api(v)) for v in grid]
    cheaper = [sh <= ap for _, sh, ap in curve]
    if all(cheaper):
        return BreakEven(None, "self-hosting is cheaper at every volume searched", curve)
    if not cheaper[-1]:
        return BreakEven(
            None, f"the API is cheaper at every volume up to {hi:,.0f} requests/day", curve
        )
    last_dearer = max(i for i, ok in enumerate(cheaper) if not ok)
    a, b = grid[last_dearer], grid[last_dearer + 1]
    for _ in range(60):
        mid = (a * b) ** 0.5
        if self_hosted(mid) <= api(mid):
            b = mid
        else:
            a = mid
    return BreakEven(b, f"self-hosting is cheaper from about {b:,.0f} requests/day", curve)
