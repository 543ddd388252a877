"""How robust a ranking is: confidence under resampling, what volume or weight change flips it,
and where self-hosting breaks even with the API."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from llmpick.costs._breakeven import break_even_volume, log_grid
from llmpick.decision._model import (
    BreakEven,
    BreakEvenPoint,
    CandidateRow,
    Sensitivity,
    WeightChange,
)
from llmpick.decision._ranking import Contender, misses_of, rank_of, score_all, winner_of
from llmpick.decision._scoring import CRITERIA
from llmpick.spec import Spec


def confidence_of(
    pool: Sequence[Contender],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    *,
    seed: int,
    draws: int,
) -> dict[str, float]:
    """Share of draws each candidate ranks first in: items bootstrapped (paired: every
    candidate sees the same resampled items), costs log-normally varied by their stated
    uncertainty (10% catalog prices, 40% self-hosting estimates). Ties in a draw are split."""
    if not pool:
        return {}
    rng = np.random.default_rng(seed)
    item_ids = sorted(
        {
            i
            for c in pool
            if c.evidence and c.evidence.quality
            for i in c.evidence.quality.scores_by_item
        }
    )
    index = {item: n for n, item in enumerate(item_ids)}
    scores = np.full((len(pool), len(item_ids)), np.nan)
    for row, c in enumerate(pool):
        if c.evidence and c.evidence.quality:
            for item, value in c.evidence.quality.scores_by_item.items():
                scores[row, index[item]] = value
    quality_draws = _bootstrap_means(scores, draws, rng)
    # Operations hours are the spec's own figure (assumed, not uncertain); the rest of a bill
    # (list prices x tokens, or hardware sized by an estimate) varies by its uncertainty.
    base_costs = np.array(
        [np.nan if c.inputs.usd_per_month is None else c.inputs.usd_per_month for c in pool]
    )
    fixed = np.array(
        [float(c.cost.breakdown.get("operations") or 0.0) if c.cost else 0.0 for c in pool]
    )
    spreads = np.array([c.cost.uncertainty if c.cost else 0.0 for c in pool])
    noise = np.exp(rng.normal(0.0, 1.0, (draws, len(pool))) * spreads)
    cost_draws = fixed + (base_costs - fixed) * noise
    wins = dict.fromkeys((c.key for c in pool), 0.0)
    for d in range(draws):
        quality = {c.key: float(quality_draws[d, k]) for k, c in enumerate(pool)}
        costs: dict[str, float | None] = {
            c.key: None if math.isnan(cost_draws[d, k]) else float(cost_draws[d, k])
            for k, c in enumerate(pool)
        }
        scores_d = score_all(pool, weights, slo, quality=quality, costs=costs)
        ranking = rank_of(pool, scores_d, spec, costs, quality)
        if not ranking:
            continue
        top = ranking[0]
        best = (_misses_in(pool, top, spec, costs, quality), scores_d[top][1])
        tied = [
            k
            for k in ranking
            if (_misses_in(pool, k, spec, costs, quality), scores_d[k][1]) == best
        ]
        for k in tied:
            wins[k] += 1 / len(tied)
    return {k: v / draws for k, v in wins.items()}


def _misses_in(
    pool: Sequence[Contender],
    key: str,
    spec: Spec,
    costs: Mapping[str, float | None],
    quality: Mapping[str, float],
) -> int:
    c = next(p for p in pool if p.key == key)
    changed = c.with_inputs(quality=quality[key])
    return misses_of(changed, spec, costs[key])


def _bootstrap_means(scores: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Mean score per candidate in each bootstrap draw (draws x candidates), in chunks so a
    10,000-item run does not hold every resample in memory at once."""
    n_cand, n_items = scores.shape
    out = np.zeros((draws, n_cand))
    if n_items == 0:
        return out
    missing = np.isnan(scores)
    values = np.where(missing, 0.0, scores)
    present = (~missing).astype(np.float64)
    chunk = max(1, 2_000_000 // (n_items * max(n_cand, 1)))
    for start in range(0, draws, chunk):
        count = min(chunk, draws - start)
        picks = rng.integers(0, n_items, size=(count, n_items))
        totals = values[:, picks].sum(axis=2)  # candidates x count
        if missing.any():
            counts = present[:, picks].sum(axis=2)
            means = np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)
        else:
            means = totals / n_items
        out[start : start + count] = means.T
    return out


# ---------------------------------------------------------------------------- what-ifs


def _costs_at(pool: Sequence[Contender], requests_per_day: float) -> dict[str, float | None]:
    return {
        c.key: (c.cost.at_volume(requests_per_day) if c.cost and c.cost.at_volume else None)
        for c in pool
    }


def _cost_provenance(pool: Sequence[Contender]) -> str:
    kinds = sorted({c.cost.provenance for c in pool if c.cost and c.cost.provenance != "none"})
    return "/".join(kinds) or "none"


def sensitivity_of(
    pool: Sequence[Contender],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    winner: str | None,
) -> Sensitivity:
    if winner is None:
        return Sensitivity(volume_flip_note="no candidate was measured, so nothing can flip")
    if len(pool) < 2:
        return Sensitivity(
            volume_flip_note="only one candidate was measured: there is nothing to flip to",
            provenance=f"measured quality; {_cost_provenance(pool)} costs",
        )
    by_key = {c.key: c for c in pool}
    base_volume = max(spec.needs.volume.requests_per_day, 1.0)
    grid = sorted(
        log_grid(base_volume / 1000, base_volume * 1000, 121),
        key=lambda v: abs(math.log(v / base_volume)),
    )
    flip: tuple[float, str] | None = None
    for volume in grid:
        other = winner_of(pool, spec, weights, slo, costs=_costs_at(pool, volume))
        if other and other != winner:
            flip = (volume, other)
            break
    if flip is None:
        note = "the ranking stays the same from 1/1000 to 1000x the spec's volume"
    else:
        kind = (
            " (open vs closed)"
            if by_key[flip[1]].inputs.open_weights != by_key[winner].inputs.open_weights
            else ""
        )
        note = f"at about {flip[0]:,.0f} requests/day {flip[1]} ranks first{kind}"
    changes: list[WeightChange] = []
    for name in CRITERIA:
        for sign in (1, -1):
            found = _smallest_flip(pool, spec, weights, slo, winner, name, sign)
            if found is not None:
                changes.append(found)
    changes.sort(key=lambda w: abs(w.delta))
    return Sensitivity(
        volume_flip_requests_per_day=flip[0] if flip else None,
        volume_flip_note=note,
        volume_flip_winner=flip[1] if flip else None,
        weight_changes=changes,
        provenance=f"measured quality of {len(pool)} candidates; {_cost_provenance(pool)} costs",
    )


def _smallest_flip(
    pool: Sequence[Contender],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    winner: str,
    name: str,
    sign: int,
) -> WeightChange | None:
    """The smallest change (to 0.01) of one weight in one direction that changes the winner:
    a coarse scan in steps of 0.05 up to 1, then 0.01 steps inside the bracket found."""

    def winner_at(delta: float) -> str | None:
        changed = dict(weights)
        changed[name] = max(0.0, changed[name] + sign * delta)
        if sum(changed.values()) <= 0:
            return None
        return winner_of(pool, spec, changed, slo)

    for coarse in range(1, 21):
        upper = coarse * 0.05
        other = winner_at(upper)
        if other and other != winner:
            for fine in range(1, 6):
                delta = round(upper - 0.05 + fine * 0.01, 2)
                other = winner_at(delta)
                if other and other != winner:
                    return WeightChange(weight=name, delta=sign * delta, new_winner=other)
        if sign < 0 and weights[name] - upper <= 0:
            return None  # the weight is already at zero
    return None


def break_even_of(
    everyone: Sequence[Contender],
    rows: Sequence[CandidateRow],
    best_open: str | None,
    best_closed: str | None,
) -> BreakEven:
    """Break-even between the best open and best closed candidates that have costs (the costs
    already computed for the rows; the best measured of each kind, else the cheapest)."""
    costed = {c.key: c for c in everyone if c.verdict.eligible and c.cost and c.cost.at_volume}

    def pick(preferred: str | None, open_weights: bool) -> str | None:
        if preferred in costed:
            return preferred
        ranked = [
            r.id
            for r in rows
            if r.id in costed and costed[r.id].inputs.open_weights == open_weights
        ]

        def usd(key: str) -> float:
            value = costed[key].inputs.usd_per_month
            return value if value is not None else math.inf

        return min(ranked, key=usd, default=None)

    open_id, closed_id = pick(best_open, True), pick(best_closed, False)
    if open_id is None or closed_id is None:
        return BreakEven(
            open_id=open_id,
            closed_id=closed_id,
            note="needs an eligible open and an eligible closed candidate with costs",
        )
    open_cost, closed_cost = costed[open_id].cost, costed[closed_id].cost
    assert open_cost and closed_cost and open_cost.at_volume and closed_cost.at_volume
    found = break_even_volume(open_cost.at_volume, closed_cost.at_volume)
    return BreakEven(
        open_id=open_id,
        closed_id=closed_id,
        requests_per_day=found.requests_per_day,
        note=found.note,
        provenance=f"{open_cost.provenance} cost of {open_id} vs "
        f"{closed_cost.provenance} cost of {closed_id}",
        curve=[
            BreakEvenPoint(requests_per_day=v, open_usd_per_month=sh, closed_usd_per_month=ap)
            for v, sh, ap in found.curve[::4]
        ],
    )
