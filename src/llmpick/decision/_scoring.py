"""Criteria on a 0..1 scale (higher is better), the weighted score, and the Pareto front.

- quality: the mean of the primary metric (already 0..1).
- latency: 1 when the p95 TTFT and E2E meet the SLOs, else SLO / observed for the worse one.
- cost: cheapest monthly cost / this cost (the cheapest scores 1).
- control: 0.7 for holding the weights (self-hosted open weights), 0.35 for open weights run by
  a third party, plus 0.3 x the share of openness artefacts published (weights, code, training
  code, training data, paper, model card).
- lock-in (higher = less locked in): open weights 1.0; a closed model behind an
  OpenAI-compatible API 0.4 (clients port); any other closed API 0.2.
- safety: the share of safety probes passed (when the spec has a `safety` section).

A criterion with no evidence is left out and the remaining weights renormalized, and the
candidate is marked as scored on incomplete evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CRITERIA = ("quality", "latency", "cost", "control", "lock_in", "safety")


@dataclass(frozen=True)
class Inputs:
    """The facts criteria are computed from, for one candidate."""

    quality: float | None
    ttft_p95_ms: float | None
    e2e_p95_ms: float | None
    usd_per_month: float | None
    self_hosted: bool
    open_weights: bool
    openness_share: float
    openai_compatible: bool
    safety: float | None = None  # overall pass rate of the safety probes


def latency_score(
    ttft_p95: float | None, e2e_p95: float | None, slo: Mapping[str, float | None]
) -> float | None:
    ratios = []
    for observed, target in ((ttft_p95, slo.get("ttft")), (e2e_p95, slo.get("e2e"))):
        if observed is None:
            continue
        if target is None:
            ratios.append(1.0)
        else:
            ratios.append(min(1.0, target / observed) if observed > 0 else 1.0)
    return min(ratios) if ratios else None


def criteria(
    inputs: Inputs, cheapest: float | None, slo: Mapping[str, float | None]
) -> dict[str, float | None]:
    """Each criterion on 0..1 for one candidate (None: no evidence)."""
    if inputs.usd_per_month is None or cheapest is None:
        cost = None
    elif inputs.usd_per_month <= 0:
        cost = 1.0
    else:
        cost = min(1.0, max(cheapest, 1e-9) / inputs.usd_per_month)
    holding = (
        0.7
        if (inputs.open_weights and inputs.self_hosted)
        else (0.35 if inputs.open_weights else 0.0)
    )
    lock_in = 1.0 if inputs.open_weights else (0.4 if inputs.openai_compatible else 0.2)
    return {
        "quality": inputs.quality,
        "latency": latency_score(inputs.ttft_p95_ms, inputs.e2e_p95_ms, slo),
        "cost": cost,
        "control": holding + 0.3 * inputs.openness_share,
        "lock_in": lock_in,
        "safety": inputs.safety,
    }


def weighted_score(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """Weighted mean over the criteria that have a value."""
    known = {k: v for k in CRITERIA if (v := values.get(k)) is not None}
    total = sum(weights.get(k, 0.0) for k in known)
    if total <= 0:
        return 0.0
    return sum(weights.get(k, 0.0) * v for k, v in known.items()) / total


def pareto_front(points: Mapping[str, tuple[float, float, float]]) -> set[str]:
    """Ids not dominated on (quality up, cost down, latency down)."""
    front = set()
    for name, (q, c, lat) in points.items():
        dominated = any(
            q2 >= q and c2 <= c and l2 <= lat and (q2 > q or c2 < c or l2 < lat)
            for other, (q2, c2, l2) in points.items()
            if other != name
        )
        if not dominated:
            front.add(name)
    return front
