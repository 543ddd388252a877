"""The headline of a decision, and what to measure next when the evidence cannot carry one.

`chosen` only when a measured candidate meets every hard need; otherwise the best measured option
is named with the needs it misses and by how much, never as the choice, and the unmeasured
eligible candidates that could still win come first, each with the exact step that measures it
and the number of paired test cases needed to tell it apart at the spec's need.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from llmpick.decision._model import (
    BreakEven,
    CandidateRow,
    NextMeasurement,
    Recommendation,
    Sensitivity,
)
from llmpick.evaluation import paired_sample_size
from llmpick.spec import Spec

__all__ = ["recommend"]

# What a test set must be able to tell apart when the spec sets no quality floor.
_DEFAULT_DETECTABLE_GAIN = 0.05


def recommend(
    winner: str | None,
    ranking: Sequence[str],
    rows: Sequence[CandidateRow],
    best_open: str | None,
    best_closed: str | None,
    p_best: Mapping[str, float],
    sensitivity: Sensitivity,
    break_even: BreakEven,
    spec: Spec,
    *,
    spec_path: str | None,
    n_items: int,
    draws: int,
) -> Recommendation:
    """The headline for a ranking of measured candidates (best first) and every row."""
    row_of = {r.id: r for r in rows}
    eligible = [r for r in rows if r.eligible]
    unmeasured = [r for r in eligible if r.quality.mean is None]
    best_quality = row_of[winner].quality.mean if winner else None
    next_steps = _next_measurements(unmeasured, spec, spec_path, best_quality, n_items)
    common = {
        "measured_candidates": len(ranking),
        "unmeasured_eligible": len(unmeasured),
        "best_open": best_open,
        "best_closed": best_closed,
        "next_measurements": next_steps,
    }
    if not rows:
        return Recommendation(
            status="no_candidates",
            headline="No candidates: the spec lists none",
            reasons=["add candidates to the spec (catalog ids, endpoints or GGUF files)"],
            **common,
        )
    if winner is None:
        why = (
            "every candidate is excluded by a hard constraint"
            if not eligible
            else "no eligible candidate has measured quality on the dataset"
        )
        return Recommendation(
            status="nothing_measured",
            headline="Nothing to recommend yet: " + why,
            reasons=[why],
            what_would_change=[f"measure {m.candidate}: {m.step}" for m in next_steps],
            **common,
        )
    row = row_of[winner]
    meets_all = row.meets_every_need
    reasons = []
    q = row.quality
    if q.mean is not None:
        ci = (
            f" (95% CI {q.ci_low:.2f}–{q.ci_high:.2f})"
            if q.ci_low is not None and q.ci_high is not None
            else ""
        )
        reasons.append(f"{q.metric} {q.mean:.2f}{ci} on {q.n} test cases (measured)")
    if row.cost.usd_per_month is not None:
        reasons.append(
            f"${row.cost.usd_per_month:,.0f}/month at "
            f"{spec.needs.volume.requests_per_day:,.0f} requests/day ({row.cost.provenance})"
        )
    lat = row.latency
    if lat.e2e_p95_ms is not None and lat.ttft_p95_ms is not None:
        queue = "; under a queue, not comparable with the SLO" if lat.under_queue else ""
        reasons.append(
            f"p95 TTFT {lat.ttft_p95_ms:,.0f} ms, p95 end-to-end "
            f"{lat.e2e_p95_ms:,.0f} ms (measured{queue})"
        )
    misses = [n for n in row.needs if n.met is False]
    confidence = p_best.get(winner)
    others = len(ranking) - 1
    if others == 0:
        confidence_note = "only one candidate was measured, so there is no comparison behind this"
        confidence = None
    else:
        confidence_note = (
            f"ranked first in {confidence or 0:.0%} of {draws} resampled draws among the "
            f"{len(ranking)} measured candidates"
        )
    if unmeasured:
        confidence_note += (
            f"; {len(unmeasured)} eligible candidate{'s were' if len(unmeasured) != 1 else ' was'}"
            " not measured and could still win"
        )
    changes: list[str] = [f"measure {m.candidate}: {m.step}" for m in next_steps]
    if sensitivity.volume_flip_requests_per_day:
        changes.append(sensitivity.volume_flip_note)
    for change in sensitivity.weight_changes[:3]:
        direction = "raising" if change.delta > 0 else "lowering"
        changes.append(
            f"{direction} the {change.weight} weight by {abs(change.delta):.2f} "
            f"puts {change.new_winner} first"
        )
    if break_even.requests_per_day:
        changes.append(
            f"break-even between {break_even.open_id} and {break_even.closed_id}: "
            f"{break_even.note} ({break_even.provenance})"
        )
    if meets_all:
        status = "chosen"
        headline = f"Choose {_called(row)}: it meets every need"
    else:
        status = "no_candidate_meets_needs"
        headline = (
            f"No candidate meets every need yet; the best measured option, {_called(row)}, misses "
            + ", ".join(dict.fromkeys(n.need for n in misses))
        )
        reasons.append(
            "misses: " + "; ".join(n.gap for n in misses if n.gap) + " — not a recommendation"
        )
    return Recommendation(
        status=status,
        headline=headline,
        id=winner,
        label=row.label,
        confidence=confidence,
        confidence_note=confidence_note,
        runner_up=ranking[1] if len(ranking) > 1 else None,
        reasons=reasons,
        misses=misses,
        what_would_change=changes,
        **common,
    )


def _next_measurements(
    unmeasured: Sequence[CandidateRow],
    spec: Spec,
    spec_path: str | None,
    best_quality: float | None,
    n_items: int,
) -> list[NextMeasurement]:
    """The unmeasured eligible candidates that could still win, most promising first: within
    budget (catalog or estimated cost), then by published score, then cheapest."""
    cap = spec.needs.budget.usd_per_month
    items_needed, basis = _items_needed(spec, best_quality, n_items)
    out = []
    for row in unmeasured:
        usd = row.cost.usd_per_month
        within = None if cap is None or usd is None else usd <= cap
        why: list[str] = []
        if usd is not None:
            budget = (
                f", within the ${cap:,.0f} budget"
                if within
                else f", over the ${cap:,.0f} budget"
                if within is False
                else ""
            )
            why.append(f"${usd:,.0f}/month ({row.cost.provenance}){budget}")
        else:
            why.append("no cost figure yet")
        why.append(
            "open weights: self-hostable and adaptable"
            if row.open_weights
            else f"closed, {row.deployment}"
        )
        for score in row.published[:2]:
            unit = "%" if score.scale == "percent" else f" ({score.scale})"
            why.append(
                f"{score.benchmark} {score.score:g}{unit} published ({score.source}, "
                f"{score.as_of}), not on your data"
            )
        out.append(
            NextMeasurement(
                candidate=row.id,
                model_id=row.model_id,
                why=why,
                step=_step(row, spec_path),
                within_budget=within,
                usd_per_month=usd,
                cost_provenance=row.cost.provenance,
                published=row.published,
                items_needed=items_needed,
                items_needed_basis=basis,
            )
        )

    def order(m: NextMeasurement) -> tuple[int, float, float, str]:
        published = max(
            (
                s.score if s.scale == "percent" else s.score * 100
                for s in m.published
                if s.scale in ("percent", "fraction")
            ),
            default=-1.0,
        )
        return (
            0 if m.within_budget is not False else 1,
            -published,
            m.usd_per_month if m.usd_per_month is not None else math.inf,
            m.candidate,
        )

    return sorted(out, key=order)


def _step(row: CandidateRow, spec_path: str | None) -> str:
    """The exact thing to do to measure this candidate, with the command."""
    spec_arg = spec_path or "llmpick.yaml"
    evaluate = f"`llmpick eval {spec_arg} -c {row.id}`"
    reason = row.not_measured_reason or ""
    key = re.search(r"set ([A-Z][A-Z0-9_]*)", reason)
    if key:
        return f"set {key.group(1)} to its API key, then run {evaluate}"
    if row.deployment == "self-hosted" and (row.serving is None or row.serving.base_url is None):
        return (
            "give it an `endpoint` (base_url of a server running it; `llmpick serve` for a "
            f"local GGUF), then run {evaluate}"
        )
    return f"{reason or 'not evaluated'}; then run {evaluate}"


def _items_needed(
    spec: Spec, best_quality: float | None, n_items: int
) -> tuple[int | None, str | None]:
    """Paired test cases needed to tell a candidate at the spec's quality need from the best
    measured one (McNemar, alpha 0.05, power 0.8), assuming the two err independently."""
    floor = spec.needs.quality.min_value
    base = best_quality if best_quality is not None else 0.5
    if floor is not None and floor > base:
        target, why = floor, "the spec's need"
    else:
        target = min(1.0, base + _DEFAULT_DETECTABLE_GAIN)
        why = f"an assumed gain of {_DEFAULT_DETECTABLE_GAIN:.2f}"
    if target <= base:
        return None, None
    p_a_only = base * (1 - target)
    p_b_only = target * (1 - base)
    needed = paired_sample_size(p_a_only, p_b_only)
    if needed is None:
        return None, None
    measured = "the best measured" if best_quality is not None else "an assumed baseline"
    basis = (
        f"to tell {target:.2f} ({why}) from {base:.2f} ({measured}) with McNemar's test, "
        f"alpha 0.05, power 0.8, if the two err independently; the dataset has {n_items} items"
    )
    return needed, basis


def _called(row: CandidateRow) -> str:
    """`GPT-4o mini (openai/gpt-4o-mini)`, or just the label when it is the name."""
    if row.name == row.label or "(" in row.name:
        return row.label
    return f"{row.name} ({row.label})"
