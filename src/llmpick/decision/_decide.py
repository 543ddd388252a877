"""From checked candidates and measured evidence to a recommendation a team can defend.

Only candidates that passed every hard constraint and whose quality was measured on the team's
own data can be recommended; the others are still shown, with costs from catalog facts and the
reason they were not measured. Among the rest, those meeting every need (quality floor, latency
SLOs, budget) rank first, then by the weighted score. Confidence is the share of Monte Carlo
draws (items resampled, costs varied within their uncertainty) in which each candidate wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmpick import __version__
from llmpick.constraints import CandidateVerdict, CheckReport
from llmpick.costs import CandidateCost, CapacityEvidence, cost_candidate
from llmpick.costs._breakeven import break_even_volume, log_grid
from llmpick.decision._evidence import DatasetItem, Evidence, percentile
from llmpick.decision._scoring import CRITERIA, Inputs, criteria, pareto_front, weighted_score
from llmpick.spec import Spec

PROVENANCE_LEGEND = {
    "measured": "measured by llmpick: on your dataset, or by a load test of your endpoint",
    "catalog": "read from the bundled catalog; each figure names its source and date",
    "estimate": "computed by llmpick from catalog facts (e.g. memory bandwidth); not measured",
    "assumed": "a value you set in the spec",
}


@dataclass
class _Candidate:
    verdict: CandidateVerdict
    evidence: Evidence | None
    cost: CandidateCost | None
    inputs: Inputs

    @property
    def id(self) -> str:
        return self.verdict.candidate.id


def decide(
    spec: Spec,
    check: CheckReport,
    evidence: Mapping[str, Evidence],
    items: Sequence[DatasetItem] = (),
    *,
    spec_text: str = "",
    spec_path: str | None = None,
    run_id: str | None = None,
    seed: int = 0,
    draws: int = 400,
    capacity: Mapping[str, CapacityEvidence] | None = None,
) -> dict[str, Any]:
    """The whole decision as a JSON-ready dict (what `decision.json` holds). `capacity` holds
    load-tested capacities by candidate id; self-hosted costs use them over the estimate."""
    capacity = capacity or {}
    slo = {"ttft": spec.needs.latency.ttft_p95_ms, "e2e": spec.needs.latency.e2e_p95_ms}
    weights = spec.weights.model_dump()
    pool: list[_Candidate] = []
    rows: list[dict[str, Any]] = []
    for verdict in check.verdicts:
        c = verdict.candidate
        ev = evidence.get(c.id)
        cost = cost_candidate(verdict, spec, capacity.get(c.id)) if verdict.eligible else None
        inputs = _inputs(verdict, ev, cost)
        cand = _Candidate(verdict, ev, cost, inputs)
        if verdict.eligible and inputs.quality is not None:
            pool.append(cand)
        rows.append(_row(cand, spec))

    by_id = {c.id: c for c in pool}
    base_scores = _scores(pool, spec, weights, slo)
    ranking = _rank(pool, base_scores, spec)
    front = pareto_front(
        {
            c.id: (c.inputs.quality or 0.0, c.inputs.usd_per_month or 0.0, c.inputs.e2e_p95_ms)
            for c in pool
            if c.inputs.usd_per_month is not None and c.inputs.e2e_p95_ms is not None
        }
    )
    p_best = _confidence(pool, spec, weights, slo, seed=seed, draws=draws)
    for row in rows:
        row_id = row["id"]
        if row_id in base_scores:
            row["criteria"], row["score"] = base_scores[row_id]
            row["rank"] = ranking.index(row_id) + 1
            row["pareto"] = row_id in front
            row["p_best"] = p_best.get(row_id, 0.0)

    _add_categories(rows, evidence, items)
    winner = ranking[0] if ranking else None
    best_open = next((i for i in ranking if by_id[i].inputs.open_weights), None)
    best_closed = next((i for i in ranking if not by_id[i].inputs.open_weights), None)
    break_even = _break_even(check, rows, best_open, best_closed, spec, capacity)
    sensitivity = _sensitivity(pool, spec, weights, slo, winner)
    recommendation = _recommendation(
        winner, ranking, by_id, rows, best_open, best_closed, p_best, sensitivity, break_even, spec
    )
    volume = spec.needs.volume
    return {
        "llmpick_version": __version__,
        "spec_hash": "sha256:" + hashlib.sha256(spec_text.encode()).hexdigest(),
        "spec_path": spec_path,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run_id": run_id,
        "name": spec.name,
        "description": spec.description,
        "needs": spec.needs.model_dump(mode="json"),
        "constraints": spec.constraints.model_dump(mode="json"),
        "weights": weights,
        "volume": {
            "requests_per_day": volume.requests_per_day,
            "mean_input_tokens": volume.mean_input_tokens,
            "mean_output_tokens": volume.mean_output_tokens,
        },
        "recommendation": recommendation,
        "candidates": rows,
        "break_even": break_even,
        "sensitivity": sensitivity,
        "provenance_legend": PROVENANCE_LEGEND,
        "load_tests": [_load_test(cid, cap) for cid, cap in capacity.items()],
        "items": [_item(item, evidence) for item in items],
    }


def _load_test(candidate_id: str, capacity: CapacityEvidence) -> dict[str, Any]:
    return {
        "candidate": candidate_id,
        "id": capacity.load_test_id,
        "hardware": capacity.hardware,
        "requests_per_s": capacity.requests_per_s,
        "concurrency": capacity.concurrency,
        "source": capacity.source,
        "slo": dict(capacity.slo),
        "levels": [dict(level) for level in capacity.levels],
    }


# ----------------------------------------------------------------------------- per candidate


def _inputs(verdict: CandidateVerdict, ev: Evidence | None, cost: CandidateCost | None) -> Inputs:
    entry = verdict.candidate.entry
    quality = ev.quality.mean if ev and ev.quality else None
    lat = ev.latency if ev else None
    openness = entry.openness if entry else None
    flags = (
        [
            openness.weights,
            openness.inference_code,
            openness.training_code,
            openness.training_data,
            openness.paper,
            openness.model_card,
        ]
        if openness
        else []
    )
    return Inputs(
        quality=quality,
        ttft_p95_ms=percentile(lat.ttft_ms, 95) if lat else None,
        e2e_p95_ms=percentile(lat.e2e_ms, 95) if lat else None,
        usd_per_month=cost.usd_per_month if cost else None,
        self_hosted=verdict.candidate.deployment == "self-hosted",
        open_weights=verdict.candidate.open_weights,
        openness_share=sum(flags) / len(flags) if flags else 0.0,
        openai_compatible=bool(entry and entry.api_protocol == "openai"),
    )


def _row(cand: _Candidate, spec: Spec) -> dict[str, Any]:
    verdict, ev, cost = cand.verdict, cand.evidence, cand.cost
    c = verdict.candidate
    entry = c.entry
    quality_ev = ev.quality if ev else None
    lat = ev.latency if ev else None
    requests_month = spec.needs.volume.requests_per_day * 365 / 12
    usd = cost.usd_per_month if cost else None
    q = cand.inputs.quality
    row: dict[str, Any] = {
        "id": c.id,
        "label": c.label,
        "name": entry.name if entry else c.label,
        "vendor": entry.vendor if entry else None,
        "deployment": c.deployment,
        "open_weights": c.open_weights,
        "eligible": verdict.eligible,
        "exclusions": [{"rule": r.rule, "message": r.message} for r in verdict.exclusions],
        "warnings": [{"rule": r.rule, "message": r.message} for r in verdict.warnings],
        "measured": bool(ev and ev.measured),
        "not_measured_reason": (ev.not_measured_reason if ev else None)
        or (None if ev and ev.measured else "not evaluated"),
        "quality": {
            "metric": spec.needs.quality.metric,
            "mean": q,
            "ci_low": quality_ev.ci_low if quality_ev else None,
            "ci_high": quality_ev.ci_high if quality_ev else None,
            "n": quality_ev.n if quality_ev else 0,
            "provenance": "measured" if quality_ev else "none",
            "source": quality_ev.source if quality_ev else None,
        },
        "per_category": {},
        "latency": _latency(lat),
        "cost": {
            "usd_per_month": usd,
            "usd_per_1k_requests": usd / requests_month * 1000 if usd and requests_month else None,
            "usd_per_correct_answer": (
                usd / (requests_month * q) if usd is not None and q and requests_month else None
            ),
            "provenance": cost.provenance if cost else "none",
            "source": cost.source if cost else None,
            "as_of": cost.as_of if cost else None,
            "breakdown": cost.breakdown if cost else {},
            "assumptions": cost.assumptions if cost else [],
        },
        "meets_needs": _meets(cand, spec),
        "criteria": None,
        "score": None,
        "rank": None,
        "pareto": False,
        "p_best": None,
    }
    return row


def _latency(lat: Any) -> dict[str, Any]:
    if lat is None:
        return {"provenance": "none"}
    return {
        "ttft_p50_ms": percentile(lat.ttft_ms, 50),
        "ttft_p95_ms": percentile(lat.ttft_ms, 95),
        "e2e_p50_ms": percentile(lat.e2e_ms, 50),
        "e2e_p95_ms": percentile(lat.e2e_ms, 95),
        "tpot_ms": percentile(lat.tpot_ms, 50),
        "output_tokens_per_s": percentile(lat.output_tokens_per_s, 50),
        "provenance": "measured",
        "source": lat.source,
        "ttft_samples_ms": lat.ttft_ms,
        "e2e_samples_ms": lat.e2e_ms,
    }


def _meets(cand: _Candidate, spec: Spec, usd: float | None = None) -> dict[str, bool | None]:
    inputs = cand.inputs
    floor = spec.needs.quality.min_value
    quality = None if inputs.quality is None or floor is None else inputs.quality >= floor
    slo = spec.needs.latency
    latency: bool | None = None
    checks = [
        (inputs.ttft_p95_ms, slo.ttft_p95_ms),
        (inputs.e2e_p95_ms, slo.e2e_p95_ms),
    ]
    known = [(o, t) for o, t in checks if o is not None and t is not None]
    if known:
        latency = all(o <= t for o, t in known)
    budget_cap = spec.needs.budget.usd_per_month
    cost = usd if usd is not None else inputs.usd_per_month
    budget = None if budget_cap is None or cost is None else cost <= budget_cap
    return {"quality": quality, "latency": latency, "budget": budget}


# --------------------------------------------------------------------------------- ranking


def _scores(
    pool: Sequence[_Candidate],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    *,
    quality: Mapping[str, float] | None = None,
    costs: Mapping[str, float | None] | None = None,
) -> dict[str, tuple[dict[str, float | None], float]]:
    def cost_of(c: _Candidate) -> float | None:
        return costs[c.id] if costs is not None else c.inputs.usd_per_month

    known = [v for c in pool if (v := cost_of(c)) is not None]
    cheapest = min(known) if known else None
    out = {}
    for c in pool:
        inputs = c.inputs
        if quality is not None or costs is not None:
            inputs = Inputs(
                quality=quality[c.id] if quality is not None else inputs.quality,
                ttft_p95_ms=inputs.ttft_p95_ms,
                e2e_p95_ms=inputs.e2e_p95_ms,
                usd_per_month=cost_of(c),
                self_hosted=inputs.self_hosted,
                open_weights=inputs.open_weights,
                openness_share=inputs.openness_share,
                openai_compatible=inputs.openai_compatible,
            )
        values = criteria(inputs, cheapest, slo)
        out[c.id] = (values, weighted_score(values, weights))
    return out


def _rank(
    pool: Sequence[_Candidate],
    scores: Mapping[str, tuple[dict[str, float | None], float]],
    spec: Spec,
    costs: Mapping[str, float | None] | None = None,
) -> list[str]:
    """Candidates meeting every need first, then by weighted score."""

    def key(c: _Candidate) -> tuple[int, float]:
        usd = costs[c.id] if costs is not None else None
        meets = _meets(c, spec, usd)
        misses = sum(1 for v in meets.values() if v is False)
        return (-misses, scores[c.id][1])

    return [c.id for c in sorted(pool, key=key, reverse=True)]


def _winner(
    pool: Sequence[_Candidate],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    *,
    quality: Mapping[str, float] | None = None,
    costs: Mapping[str, float | None] | None = None,
) -> str | None:
    scores = _scores(pool, spec, weights, slo, quality=quality, costs=costs)
    ranking = _rank(pool, scores, spec, costs)
    return ranking[0] if ranking else None


def _confidence(
    pool: Sequence[_Candidate],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    *,
    seed: int,
    draws: int,
) -> dict[str, float]:
    """Share of draws each candidate wins: items bootstrapped (paired: every candidate sees the
    same resampled items), costs log-normally varied by their stated uncertainty (10% catalog
    prices, 40% self-hosting estimates)."""
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
    base_costs = np.array([c.inputs.usd_per_month or np.nan for c in pool])
    fixed = np.array(
        [float(c.cost.breakdown.get("operations") or 0.0) if c.cost else 0.0 for c in pool]
    )
    spreads = np.array([c.cost.uncertainty if c.cost else 0.0 for c in pool])
    noise = np.exp(rng.normal(0.0, 1.0, (draws, len(pool))) * spreads)
    cost_draws = fixed + (base_costs - fixed) * noise
    wins = dict.fromkeys((c.id for c in pool), 0)
    for d in range(draws):
        quality = {c.id: float(quality_draws[d, k]) for k, c in enumerate(pool)}
        costs: dict[str, float | None] = {
            c.id: None if math.isnan(cost_draws[d, k]) else float(cost_draws[d, k])
            for k, c in enumerate(pool)
        }
        winner = _winner(pool, spec, weights, slo, quality=quality, costs=costs)
        if winner:
            wins[winner] += 1
    return {k: v / draws for k, v in wins.items()}


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


def _costs_at(pool: Sequence[_Candidate], requests_per_day: float) -> dict[str, float | None]:
    return {
        c.id: (c.cost.at_volume(requests_per_day) if c.cost and c.cost.at_volume else None)
        for c in pool
    }


def _sensitivity(
    pool: Sequence[_Candidate],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    winner: str | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "volume_flip_requests_per_day": None,
        "volume_flip_note": "no candidate was measured, so nothing can flip",
        "volume_flip_winner": None,
        "weight_changes": [],
    }
    if winner is None:
        return result
    by_id = {c.id: c for c in pool}
    base_volume = max(spec.needs.volume.requests_per_day, 1.0)
    grid = sorted(
        log_grid(base_volume / 1000, base_volume * 1000, 121),
        key=lambda v: abs(math.log(v / base_volume)),
    )
    result["volume_flip_note"] = (
        "the recommendation stays the same from 1/1000 to 1000x the spec's volume"
    )
    for volume in grid:
        other = _winner(pool, spec, weights, slo, costs=_costs_at(pool, volume))
        if other and other != winner:
            flips_class = by_id[other].inputs.open_weights != by_id[winner].inputs.open_weights
            result["volume_flip_requests_per_day"] = volume
            result["volume_flip_winner"] = other
            kind = " (open vs closed)" if flips_class else ""
            result["volume_flip_note"] = (
                f"at about {volume:,.0f} requests/day the recommendation becomes {other}{kind}"
            )
            break
    for name in CRITERIA:
        for sign in (1, -1):
            found = _smallest_flip(pool, spec, weights, slo, winner, name, sign)
            if found is not None:
                result["weight_changes"].append(found)
    result["weight_changes"].sort(key=lambda w: abs(w["delta"]))
    return result


def _smallest_flip(
    pool: Sequence[_Candidate],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    winner: str,
    name: str,
    sign: int,
) -> dict[str, Any] | None:
    """The smallest change (to 0.01) of one weight in one direction that changes the winner:
    a coarse scan in steps of 0.05 up to 1, then 0.01 steps inside the bracket found."""

    def winner_at(delta: float) -> str | None:
        changed = dict(weights)
        changed[name] = max(0.0, changed[name] + sign * delta)
        if sum(changed.values()) <= 0:
            return None
        return _winner(pool, spec, changed, slo)

    for coarse in range(1, 21):
        upper = coarse * 0.05
        other = winner_at(upper)
        if other and other != winner:
            for fine in range(1, 6):
                delta = round(upper - 0.05 + fine * 0.01, 2)
                other = winner_at(delta)
                if other and other != winner:
                    return {"weight": name, "delta": sign * delta, "new_winner": other}
        if sign < 0 and weights[name] - upper <= 0:
            return None  # the weight is already at zero
    return None


def _break_even(
    check: CheckReport,
    rows: Sequence[dict[str, Any]],
    best_open: str | None,
    best_closed: str | None,
    spec: Spec,
    capacity: Mapping[str, CapacityEvidence],
) -> dict[str, Any]:
    """Break-even between the best open and best closed candidates that have costs."""
    costed = {}
    for verdict in check.verdicts:
        if verdict.eligible:
            cost = cost_candidate(verdict, spec, capacity.get(verdict.candidate.id))
            if cost.at_volume is not None:
                costed[verdict.candidate.id] = (verdict.candidate.open_weights, cost)

    def pick(preferred: str | None, open_weights: bool) -> str | None:
        if preferred in costed:
            return preferred
        ranked = [r["id"] for r in rows if r["id"] in costed and costed[r["id"]][0] == open_weights]
        return min(ranked, key=lambda i: costed[i][1].usd_per_month or math.inf, default=None)

    open_id, closed_id = pick(best_open, True), pick(best_closed, False)
    if open_id is None or closed_id is None:
        return {
            "open_id": open_id,
            "closed_id": closed_id,
            "requests_per_day": None,
            "note": "needs an eligible open and an eligible closed candidate with costs",
            "curve": [],
        }
    open_cost, closed_cost = costed[open_id][1], costed[closed_id][1]
    assert open_cost.at_volume and closed_cost.at_volume
    found = break_even_volume(open_cost.at_volume, closed_cost.at_volume)
    return {
        "open_id": open_id,
        "closed_id": closed_id,
        "requests_per_day": found.requests_per_day,
        "note": found.note,
        "curve": [
            {"requests_per_day": v, "open_usd_per_month": sh, "closed_usd_per_month": ap}
            for v, sh, ap in found.curve[::4]
        ],
    }


def _recommendation(
    winner: str | None,
    ranking: Sequence[str],
    by_id: Mapping[str, _Candidate],
    rows: Sequence[dict[str, Any]],
    best_open: str | None,
    best_closed: str | None,
    p_best: Mapping[str, float],
    sensitivity: Mapping[str, Any],
    break_even: Mapping[str, Any],
    spec: Spec,
) -> dict[str, Any]:
    row_of = {r["id"]: r for r in rows}
    unmeasured = [r for r in rows if r["eligible"] and not r["measured"]]
    changes: list[str] = []
    for r in unmeasured:
        changes.append(f"measure {r['id']}: {r['not_measured_reason']}")
    if winner is None:
        return {
            "id": None,
            "label": None,
            "confidence": None,
            "runner_up": None,
            "best_open": best_open,
            "best_closed": best_closed,
            "reasons": ["no eligible candidate has measured quality on the dataset"],
            "what_would_change": changes,
        }
    row = row_of[winner]
    reasons = []
    q = row["quality"]
    if q["mean"] is not None:
        ci = (
            f" (95% CI {q['ci_low']:.2f}–{q['ci_high']:.2f})"
            if q["ci_low"] is not None and q["ci_high"] is not None
            else ""
        )
        reasons.append(f"{q['metric']} {q['mean']:.2f}{ci} on {q['n']} test cases")
    cost = row["cost"]["usd_per_month"]
    if cost is not None:
        reasons.append(
            f"${cost:,.0f}/month at {spec.needs.volume.requests_per_day:,.0f} "
            f"requests/day ({row['cost']['provenance']})"
        )
    lat = row["latency"]
    if lat.get("e2e_p95_ms") is not None:
        reasons.append(
            f"p95 TTFT {lat['ttft_p95_ms']:,.0f} ms, p95 end-to-end "
            f"{lat['e2e_p95_ms']:,.0f} ms (measured)"
        )
    misses = [k for k, v in row["meets_needs"].items() if v is False]
    if misses:
        reasons.append(
            "caution: misses the spec's " + ", ".join(misses) + " need(s); no "
            "measured candidate meets every need"
        )
    if sensitivity.get("volume_flip_requests_per_day"):
        changes.append(sensitivity["volume_flip_note"])
    for change in sensitivity.get("weight_changes", [])[:3]:
        direction = "raising" if change["delta"] > 0 else "lowering"
        changes.append(
            f"{direction} the {change['weight']} weight by {abs(change['delta']):.2f} "
            f"makes {change['new_winner']} the choice"
        )
    if break_even.get("requests_per_day"):
        changes.append(
            f"break-even between {break_even['open_id']} and "
            f"{break_even['closed_id']}: {break_even['note']}"
        )
    return {
        "id": winner,
        "label": row["label"],
        "confidence": p_best.get(winner),
        "runner_up": ranking[1] if len(ranking) > 1 else None,
        "best_open": best_open,
        "best_closed": best_closed,
        "reasons": reasons,
        "what_would_change": changes,
    }


def _add_categories(
    rows: Sequence[dict[str, Any]], evidence: Mapping[str, Evidence], items: Sequence[DatasetItem]
) -> None:
    category_of = {i.item_id: i.category for i in items if i.category}
    for row in rows:
        ev = evidence.get(row["id"])
        if not ev or not ev.quality or not category_of:
            continue
        groups: dict[str, list[float]] = {}
        for item_id, score in ev.quality.scores_by_item.items():
            if item_id in category_of:
                groups.setdefault(category_of[item_id], []).append(score)
        row["per_category"] = {
            cat: {"mean": sum(v) / len(v), "n": len(v)} for cat, v in sorted(groups.items())
        }


def _item(item: DatasetItem, evidence: Mapping[str, Evidence]) -> dict[str, Any]:
    responses = {}
    for cid, ev in evidence.items():
        response = ev.responses.get(item.item_id)
        if response is not None:
            responses[cid] = {
                "text": response.text,
                "score": response.score,
                "ttft_ms": response.ttft_ms,
                "error": response.error,
            }
    return {
        "item_id": item.item_id,
        "input": item.input,
        "expected": item.expected,
        "category": item.category,
        "responses": responses,
    }
