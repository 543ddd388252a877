"""What the evaluation measured about each candidate, in the form the decision needs.

The decision does not read the result store directly: it takes `Evidence` per candidate, so a
run from the store, a run from another tool, or a test can all feed it the same way.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from llmpick.safety import CategoryRate


@dataclass(frozen=True)
class ItemResponse:
    """One candidate's answer to one test case, as the item browser shows it."""

    text: str
    score: float | None
    ttft_ms: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class QualityEvidence:
    """Primary-metric scores per item (0..1), with the run's own interval."""

    metric: str
    scores_by_item: dict[str, float]
    ci_low: float | None = None
    ci_high: float | None = None
    source: str = "measured on the spec's dataset"

    @property
    def mean(self) -> float | None:
        values = list(self.scores_by_item.values())
        return statistics.fmean(values) if values else None

    @property
    def n(self) -> int:
        return len(self.scores_by_item)


@dataclass(frozen=True)
class LatencyEvidence:
    """Per-request latencies in milliseconds and streaming speeds."""

    ttft_ms: list[float]
    e2e_ms: list[float]
    tpot_ms: list[float] = field(default_factory=list)
    output_tokens_per_s: list[float] = field(default_factory=list)
    source: str = "measured on this machine"
    # Requests waited in the server's queue (more in flight than it serves at once): such latency
    # describes the queue, and the decision keeps it out of the latency criterion and needs.
    under_queue: bool = False


@dataclass(frozen=True)
class Evidence:
    """Everything measured for one candidate; `measured=False` says why not."""

    candidate_id: str
    measured: bool
    not_measured_reason: str | None = None
    quality: QualityEvidence | None = None
    latency: LatencyEvidence | None = None
    responses: dict[str, ItemResponse] = field(default_factory=dict)
    run_id: str | None = None


@dataclass(frozen=True)
class SafetyEvidence:
    """A candidate's safety probe results: per category, the failures with reasons."""

    categories: dict[str, CategoryRate]
    failures: tuple[tuple[str, str, str, str], ...] = ()  # (probe id, category, reason, answer)
    run_id: str | None = None

    @property
    def overall(self) -> float | None:
        n = sum(c.n for c in self.categories.values())
        return sum(c.passed for c in self.categories.values()) / n if n else None


@dataclass(frozen=True)
class DatasetItem:
    """A test case as the report shows it."""

    item_id: str
    input: str
    expected: str | None
    category: str | None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
