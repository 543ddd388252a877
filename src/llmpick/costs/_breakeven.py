"""The volume at which self-hosting and an API cost the same.

API cost grows linearly with volume; self-hosting is a staircase (one more replica each time the
peak outgrows the last) on top of a fixed operations cost. The break-even is the lowest daily
volume from which the self-hosted bill stays at or below the API bill on a fine log grid, refined
by bisection; there may be none in the range searched.

A break-even is only as good as its two costs: `BreakEven.provenance` is the least certain of
theirs (measured, catalog, estimate, assumed), and `sources` names where each came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmpick.costs._candidate import CandidateCost

CostAt = Callable[[float], float]

#: From most to least certain; a result takes the least certain of its inputs.
PROVENANCE_ORDER = ("measured", "catalog", "estimate", "assumed")

MIN_REQUESTS_PER_DAY = 10.0
MAX_REQUESTS_PER_DAY = 1e9


@dataclass(frozen=True)
class BreakEven:
    """Where self-hosting becomes no dearer than the API, and what that rests on."""

    requests_per_day: float | None
    note: str
    curve: list[tuple[float, float, float]]  # (requests/day, self-hosted $/month, API $/month)
    provenance: str = "unknown"
    """The least certain provenance of the two costs (`PROVENANCE_ORDER`); "unknown" when the
    caller gave none."""
    sources: tuple[str, ...] = ()


def weakest_provenance(provenances: Sequence[str]) -> str:
    """The least certain of `provenances` by `PROVENANCE_ORDER` ("unknown" if none is known)."""
    known = [p for p in provenances if p in PROVENANCE_ORDER]
    return max(known, key=PROVENANCE_ORDER.index) if known else "unknown"


def break_even_between(self_hosted: CandidateCost, api: CandidateCost) -> BreakEven:
    """The break-even of two costs already computed (each with `at_volume`), carrying their
    provenance: a self-hosted cost on unpriced hardware makes it "assumed"."""
    if self_hosted.at_volume is None or api.at_volume is None:
        raise ValueError("both costs need at_volume to find a break-even")
    own = "assumed" if self_hosted.hardware_unpriced else self_hosted.provenance
    found = break_even_volume(self_hosted.at_volume, api.at_volume)
    sources = (
        f"self-hosted: {own} ({self_hosted.source})"
        + (" on hardware counted as $0 (unpriced)" if self_hosted.hardware_unpriced else ""),
        f"API: {api.provenance} ({api.source}{', ' + api.as_of if api.as_of else ''})",
    )
    return BreakEven(
        found.requests_per_day,
        found.note,
        found.curve,
        provenance=weakest_provenance([own, api.provenance]),
        sources=sources,
    )


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
